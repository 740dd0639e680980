package pgstore_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
)

func TestMain(m *testing.M) { pgtest.MainWithExamples(m) }

// bundle is what most tests need: a migrated store in a schema of its own.
type bundle struct {
	url    string
	schema string
	pool   *pgxpool.Pool
	store  *pgstore.Store
}

func setup(t testing.TB) *bundle {
	t.Helper()
	url, schema := pgtest.NewSchema(t)
	b := &bundle{url: url, schema: schema}
	b.pool = newPool(t, url)
	b.store = newStore(t, b.pool, schema)
	return b
}

func newPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func newStore(t testing.TB, pool *pgxpool.Pool, schema string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(pool, pgstore.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = s.Migrate(ctx)
	require.NoError(t, err)
	return s
}

func (b *bundle) queue(t testing.TB, name string) *pgstore.Queue {
	q, err := b.store.Queue(name)
	require.NoError(t, err)
	return q
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// bothIdempotencyStores runs f, in parallel subtests each on a schema of its
// own, with each IdempotencyStore flavour: the Store's (batched Begins) and
// NewIdempotencyStore's (each Begin alone).
func bothIdempotencyStores(t *testing.T, f func(t *testing.T, b *bundle, idem *pgstore.IdempotencyStore)) {
	t.Run("StoreIdempotency", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f(t, b, b.store.Idempotency())
	})
	t.Run("NewIdempotencyStore", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		idem, err := pgstore.NewIdempotencyStore(b.pool, pgstore.Config{Schema: b.schema})
		require.NoError(t, err)
		f(t, b, idem)
	})
}
