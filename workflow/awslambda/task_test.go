package awslambda_test

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/workflow"
	"github.com/storagefirst/storagefirst-go/workflow/awslambda"
)

func TestTaskNamesErrorsForStepFunctions(t *testing.T) {
	t.Parallel()
	h := awslambda.Task(func(_ context.Context, in struct{ Username string }) (map[string]string, error) {
		if in.Username == "" {
			return nil, workflow.Errorf("OrderNotFound", "no username")
		}
		return map[string]string{"status": "cancelled"}, nil
	})
	_, err := h(context.Background(), struct{ Username string }{})
	var le messages.InvokeResponse_Error
	require.ErrorAs(t, err, &le)
	require.Equal(t, "OrderNotFound", le.Type)
	require.Equal(t, "no username", le.Message)
	out, err := h(context.Background(), struct{ Username string }{"lee"})
	require.NoError(t, err)
	require.Equal(t, "cancelled", out["status"])
}
