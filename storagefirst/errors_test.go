package storagefirst_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	for _, tc := range []struct {
		name string
		err  error
		want storagefirst.Class
	}{
		{"plain error is retryable", base, storagefirst.ClassRetryable},
		{"permanent", storagefirst.Permanent(base), storagefirst.ClassPermanent},
		{"wrapped permanent", fmt.Errorf("ctx: %w", storagefirst.Permanent(base)), storagefirst.ClassPermanent},
		{"retryable overrides inner permanent", storagefirst.Retryable(storagefirst.Permanent(base)), storagefirst.ClassRetryable},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), storagefirst.ClassCanceled},
		{"deadline is retryable", context.DeadlineExceeded, storagefirst.ClassRetryable},
		{"permanent cancellation stays permanent", storagefirst.Permanent(context.Canceled), storagefirst.ClassPermanent},
		{"joined takes the first classified", errors.Join(storagefirst.Permanent(base), errors.New("other")), storagefirst.ClassPermanent},
	} {
		require.Equal(t, tc.want, storagefirst.Classify(tc.err), tc.name)
	}
	require.ErrorIs(t, storagefirst.Permanent(base), storagefirst.ErrPermanent)
	require.ErrorIs(t, storagefirst.Permanent(base), base)
	require.NotErrorIs(t, storagefirst.Permanent(base), storagefirst.ErrRetryable)
	require.ErrorIs(t, storagefirst.RetryAfter(base, time.Second), storagefirst.ErrRetryable)
	require.Nil(t, storagefirst.Permanent(nil))
	require.Nil(t, storagefirst.Retryable(nil))
	require.Nil(t, storagefirst.RetryAfter(nil, time.Second))
	require.False(t, storagefirst.IsPermanent(nil))
	require.False(t, storagefirst.IsRetryable(nil))

	d, ok := storagefirst.RetryAfterOf(fmt.Errorf("w: %w", storagefirst.RetryAfter(base, 3*time.Second)))
	require.True(t, ok)
	require.Equal(t, 3*time.Second, d)
	_, ok = storagefirst.RetryAfterOf(base)
	require.False(t, ok)
}

func TestPutError(t *testing.T) {
	t.Parallel()
	cause := errors.New("throttled")
	pe := &storagefirst.PutError{Total: 3, Failed: []storagefirst.FailedEnvelope{{ID: "b", Err: cause}}}
	var err error = fmt.Errorf("put: %w", pe)
	require.ErrorIs(t, err, cause)
	require.True(t, pe.Partial())
	require.Equal(t, []string{"b"}, storagefirst.FailedIDs(err, nil))
	envs := []storagefirst.Envelope{{ID: "a"}, {ID: "b"}}
	require.Equal(t, []string{"a", "b"}, storagefirst.FailedIDs(errors.New("down"), envs))
	require.Nil(t, storagefirst.FailedIDs(nil, envs))
	require.Contains(t, pe.Error(), "1 of 3 envelopes not stored; b: throttled")
}

func TestChainOrder(t *testing.T) {
	t.Parallel()
	var order []string
	mw := func(name string) storagefirst.Middleware {
		return func(next storagefirst.Handler) storagefirst.Handler {
			return storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
				order = append(order, name)
				return next.Handle(ctx, env)
			})
		}
	}
	h := storagefirst.Chain(storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
		order = append(order, "handler")
		return nil
	}), mw("outer"), nil, mw("inner"))
	require.NoError(t, h.Handle(context.Background(), storagefirst.Envelope{}))
	require.Equal(t, []string{"outer", "inner", "handler"}, order)
}
