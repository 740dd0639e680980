package dlq_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

type failingDest struct{ err error }

func (f failingDest) SendDeadLetter(context.Context, storagefirst.DeadLetter) error { return f.err }

func TestMiddlewareDeadLettersFinalFailures(t *testing.T) {
	t.Parallel()
	dest := sftest.NewMemoryQueue(nil)
	var result error
	h := deadLetters(t, dlq.MiddlewareConfig{Destination: dest, Origin: "create-order", MaxAttempts: 3,
		Logger: slog.New(slog.DiscardHandler)})(
		storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return result }))
	ctx := context.Background()
	env, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"username":"lee"}`))
	require.NoError(t, err)

	result = errors.New("flaky")
	env.Attempt = 1
	require.ErrorIs(t, h.Handle(ctx, env), result, "not final before MaxAttempts: the source retries")
	env.Attempt = 3
	require.NoError(t, h.Handle(ctx, env), "final and dead-lettered: the source must not retry")
	result = context.Canceled
	require.ErrorIs(t, h.Handle(ctx, env), context.Canceled, "canceled work is never dead-lettered")

	dead, err := dest.ListDead(ctx, storagefirst.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Equal(t, env.ID, dead[0].Envelope.ID)
	require.Equal(t, "flaky", dead[0].LastFailure().Error)
	require.Equal(t, "create-order", dead[0].LastFailure().Origin)
	require.Equal(t, 3, dead[0].LastFailure().Attempt)

	// A permanent failure is final at once.
	result = storagefirst.Permanentf("bad order")
	env2, _ := storagefirst.NewEnvelope("CreateOrder", []byte(`{}`))
	env2.Attempt = 1
	require.NoError(t, h.Handle(ctx, env2))
}

func TestMiddlewareNeverAcksWhenTheDeadLetterIsNotStored(t *testing.T) {
	t.Parallel()
	down := errors.New("sqs is down")
	h := deadLetters(t, dlq.MiddlewareConfig{Destination: failingDest{down}})(
		storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return storagefirst.Permanentf("bad") }))
	env, _ := storagefirst.NewEnvelope("x", nil)
	err := h.Handle(context.Background(), env)
	require.ErrorIs(t, err, down)
	require.True(t, storagefirst.IsRetryable(err), "the source must deliver again")
}

func TestMiddlewareRejectsAnInvalidConfig(t *testing.T) {
	t.Parallel()
	_, err := dlq.Middleware(dlq.MiddlewareConfig{})
	require.ErrorContains(t, err, "Destination is required")
	_, err = dlq.Middleware(dlq.MiddlewareConfig{Destination: failingDest{errors.New("x")}, MaxAttempts: -1})
	require.ErrorContains(t, err, "MaxAttempts -1 is negative")
}
