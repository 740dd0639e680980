package storagefirst_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// passing is a middleware that passes the delivery whole to its next handler.
type passing struct{ next storagefirst.Handler }

func (p *passing) Handle(ctx context.Context, env storagefirst.Envelope) error {
	defer storagefirst.PassDelivery(ctx, p, p.next)()
	return p.next.Handle(ctx, env)
}

// TestClaimAcksDelivery: only the Idempotent scope the delivery is given to whole
// (directly, through Retry, or through a middleware that passes it on) may
// acknowledge it in its transaction; a scope among several (siblings, nested)
// or behind a handler that does not pass the delivery on may not.
func TestClaimAcksDelivery(t *testing.T) {
	t.Parallel()
	idem := sftest.NewMemoryIdempotencyStore(nil)
	q := sftest.NewMemoryQueue(nil)
	env, err := storagefirst.NewEnvelope("t", []byte(`{}`))
	require.NoError(t, err)
	retry, err := storagefirst.Retry(storagefirst.RetryConfig{Policy: storagefirst.RetryPolicy{MaxRetries: 1, Interval: time.Millisecond}})
	require.NoError(t, err)
	scope := func(name string, seen *[]bool) storagefirst.Handler {
		m, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: idem, Scope: name})
		require.NoError(t, err)
		return storagefirst.Chain(storagefirst.HandlerFunc(func(ctx context.Context, _ storagefirst.Envelope) error {
			*seen = append(*seen, storagefirst.ClaimAcksDelivery(ctx))
			return nil
		}), m)
	}
	cases := map[string]struct {
		build func(seen *[]bool) storagefirst.Handler
		want  []bool
	}{
		"given whole": {func(s *[]bool) storagefirst.Handler { return scope("a", s) }, []bool{true}},
		"behind Retry": {func(s *[]bool) storagefirst.Handler {
			return storagefirst.Chain(scope("a", s), retry)
		}, []bool{true}},
		"behind PassDelivery": {func(s *[]bool) storagefirst.Handler { return &passing{next: scope("a", s)} }, []bool{true}},
		"behind a HandlerFunc": {func(s *[]bool) storagefirst.Handler {
			in := scope("a", s)
			return storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error { return in.Handle(ctx, e) })
		}, []bool{false}},
		"siblings": {func(s *[]bool) storagefirst.Handler {
			a, b := scope("a", s), scope("b", s)
			return storagefirst.HandlerFunc(func(ctx context.Context, e storagefirst.Envelope) error {
				return errors.Join(a.Handle(ctx, e), b.Handle(ctx, e))
			})
		}, []bool{false, false}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var seen []bool
			h := c.build(&seen)
			e := env
			e.IdempotencyKey = name
			ctx := storagefirst.WithDeliveryLease(context.Background(), q, storagefirst.Lease{ID: e.ID, Token: 1}, h)
			require.NoError(t, h.Handle(ctx, e))
			require.Equal(t, c.want, seen)
		})
	}
	require.False(t, storagefirst.ClaimAcksDelivery(context.Background()))
}
