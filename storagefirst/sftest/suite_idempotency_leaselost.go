package sftest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// testIdemQueueLeaseLost: when a delivery's queue lease is lost while its handler
// runs (the consumer cancels the handler with ErrLeaseLost), the Idempotent
// middleware still holds its claim: it releases it (or, when the handler did
// succeed, completes it) at once, so the envelope's next holder finds the key
// free (or the outcome), instead of ErrInProgress until the claim's lease ends.
func testIdemQueueLeaseLost(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	for _, tc := range []struct {
		name      string
		handlerOK bool
	}{{"Interrupted", false}, {"Succeeded", true}} {
		t.Run(tc.name, func(t *testing.T) {
			key := "queue-lease-lost-" + tc.name
			env, err := storagefirst.NewEnvelope("test", []byte(`{}`))
			require.NoError(t, err)
			env.IdempotencyKey = key
			hctx, cancel := context.WithCancelCause(ctx)
			defer cancel(nil)
			ran := false
			mw, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: s, Scope: "scope", Lease: time.Hour})
			require.NoError(t, err)
			h := mw(storagefirst.HandlerFunc(func(ctx context.Context, env storagefirst.Envelope) error {
				ran = true
				// The consumer's lease extension finds the queue lease taken over.
				cancel(fmt.Errorf("queue lease of %s: %w", env.ID, storagefirst.ErrLeaseLost))
				if tc.handlerOK {
					return nil
				}
				return ctx.Err()
			}))
			_ = h.Handle(hctx, env)
			require.True(t, ran)

			r, err := s.Begin(ctx, "scope", key, storagefirst.PayloadFingerprint(env), time.Minute)
			if tc.handlerOK {
				require.NoError(t, err)
				require.False(t, r.Acquired, "the effect that happened is recorded")
				require.Equal(t, storagefirst.IdempotencyCompleted, r.Record.State)
				return
			}
			require.NoError(t, err, "the key is free at once, not in progress for the claim's hour")
			require.True(t, r.Acquired)
		})
	}
}
