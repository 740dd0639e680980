package pgstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// idempotent returns the Idempotent middleware of cfg, failing t on an invalid cfg.
func idempotent(t testing.TB, cfg storagefirst.IdempotentConfig) storagefirst.Middleware {
	t.Helper()
	mw, err := storagefirst.Idempotent(cfg)
	require.NoError(t, err)
	return mw
}
