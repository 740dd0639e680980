package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/sqlitestore"
)

// TestSecondShopOnOneFileStops: a shop started on a SQLite file another shop owns
// stops at once with sqlitestore.ErrStoreInUse (main prints it and exits 1)
// instead of handling the same orders a second time.
func TestSecondShopOnOneFileStops(t *testing.T) {
	db := filepath.Join(t.TempDir(), "pizza.db")
	owner, err := sqlitestore.Open(context.Background(), db, sqlitestore.Config{})
	require.NoError(t, err)
	defer owner.Close()

	start := time.Now()
	err = run(options{addr: "127.0.0.1:0", db: db}, slog.New(slog.DiscardHandler))
	require.ErrorIs(t, err, sqlitestore.ErrStoreInUse)
	require.ErrorContains(t, err, db)
	require.Less(t, time.Since(start), 5*time.Second)
}
