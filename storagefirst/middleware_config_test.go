package storagefirst_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// The middleware constructors report a bad configuration as an error, as every
// other constructor of the module does, instead of panicking.
func TestMiddlewareConstructorsRejectInvalidConfig(t *testing.T) {
	t.Parallel()
	mw, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{})
	require.ErrorContains(t, err, "IdempotentConfig.Store is required")
	require.Nil(t, mw)
	_, err = storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: sftest.NewMemoryIdempotencyStore(nil),
		Lease: -time.Second, TTL: -time.Second})
	require.ErrorContains(t, err, "IdempotentConfig.Lease -1s is negative")
	require.ErrorContains(t, err, "IdempotentConfig.TTL -1s is negative")
	_, err = storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: sftest.NewMemoryIdempotencyStore(nil)})
	require.NoError(t, err)

	mw, err = storagefirst.Retry(storagefirst.RetryConfig{Policy: storagefirst.RetryPolicy{Interval: -time.Second}})
	require.ErrorContains(t, err, "RetryPolicy.Interval -1s is negative")
	require.Nil(t, mw)
	_, err = storagefirst.Retry(storagefirst.RetryConfig{})
	require.NoError(t, err)
}
