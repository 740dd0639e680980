package awslambda_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/workflow"
	"github.com/storagefirst/storagefirst-go/workflow/awslambda"
)

type quotaError struct{}

func (quotaError) Error() string { return "over quota" }

func TestTaskNeverReportsAReservedName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("plain"), "errorString"},
		{fmt.Errorf("wrapped: %w", errors.New("plain")), "wrapError"},
		{quotaError{}, "quotaError"},
		{context.DeadlineExceeded, "deadlineExceededError"},
		{workflow.Errorf(workflow.ErrorRuntime, "bad input"), "NamedError"},
		{workflow.Errorf("Database.Unavailable", "down"), "Database.Unavailable"},
	} {
		h := awslambda.Task(func(context.Context, struct{}) (struct{}, error) { return struct{}{}, tc.err })
		_, err := h(context.Background(), struct{}{})
		var le messages.InvokeResponse_Error
		require.ErrorAs(t, err, &le)
		require.Equal(t, tc.want, le.Type, "%v", tc.err)
		require.False(t, strings.HasPrefix(le.Type, "States."), "States.* names are reserved")
	}
}
