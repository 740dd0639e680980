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

// refusingStore refuses every key for good, as pgstore refuses one it cannot store.
type refusingStore struct{ storagefirst.IdempotencyStore }

var errRefused = errors.New("key refused")

func (refusingStore) Begin(context.Context, string, string, string, time.Duration) (storagefirst.BeginResult, error) {
	return storagefirst.BeginResult{}, storagefirst.Permanent(errRefused)
}

// TestIdempotentBeginRefusedIsPermanent: a Begin the store refuses permanently
// fails the envelope permanently (dead-lettered, not retried in vain); a
// transient Begin failure stays retryable.
func TestIdempotentBeginRefusedIsPermanent(t *testing.T) {
	t.Parallel()
	m, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: refusingStore{sftest.NewMemoryIdempotencyStore(nil)}})
	require.NoError(t, err)
	env, err := storagefirst.NewEnvelope("t", []byte(`{}`))
	require.NoError(t, err)
	ran := false
	err = storagefirst.Chain(storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error {
		ran = true
		return nil
	}), m).Handle(context.Background(), env)
	require.ErrorIs(t, err, errRefused)
	require.True(t, storagefirst.IsPermanent(err))
	require.False(t, ran)
}
