package sftest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// testIdemCanceledContext: every method called with a canceled context returns an
// error wrapping context.Canceled and changes nothing.
func testIdemCanceledContext(t *testing.T, s storagefirst.IdempotencyStore) {
	ctx := suiteCtx(t)
	res, err := s.Begin(ctx, "scope", "held", "fp", time.Hour)
	require.NoError(t, err)
	require.True(t, res.Acquired)
	c := res.Claim

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Begin", func(ctx context.Context) error {
			_, err := s.Begin(ctx, "scope", "new", "fp", time.Hour)
			return err
		}},
		{"Complete", func(ctx context.Context) error { return s.Complete(ctx, c, storagefirst.Outcome{}, time.Hour) }},
		{"Release", func(ctx context.Context) error { return s.Release(ctx, c) }},
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, "scope", "held"); return err }},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, "scope", "held") }},
	}
	for _, m := range calls {
		require.ErrorIs(t, m.call(canceled), context.Canceled, "%s with a canceled context", m.name)
	}

	_, err = s.Get(ctx, "scope", "new")
	require.ErrorIs(t, err, storagefirst.ErrNotFound, "Begin with a canceled context claimed")
	r, err := s.Get(ctx, "scope", "held")
	require.NoError(t, err, "Delete with a canceled context deleted")
	require.Equal(t, storagefirst.IdempotencyInProgress, r.State)
	require.Equal(t, c.Token, r.Token)
	require.NoError(t, s.Complete(ctx, c, storagefirst.Outcome{}, time.Hour), "the claim was released or completed")
}
