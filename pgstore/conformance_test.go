package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

func TestQueueConformance(t *testing.T) {
	t.Parallel()
	sftest.RunQueueSuite(t, func(t *testing.T) sftest.QueueBackend {
		return setup(t).queue(t, "conformance")
	}, sftest.QueueFeatures{
		Reopen: func(t *testing.T, old sftest.QueueBackend) sftest.QueueBackend {
			q := old.(*pgstore.Queue)
			// A new pool and store on the same schema: only what was committed remains.
			b := &bundle{url: q.Store().Pool().Config().ConnString(), schema: q.Store().Schema()}
			q.Store().Close()
			q.Store().Pool().Close()
			b.pool = newPool(t, b.url)
			b.store = newStore(t, b.pool, b.schema)
			return b.queue(t, q.Name())
		},
		RejectType: func(t *testing.T, q sftest.QueueBackend, typ string) { rejectType(t, q.(*pgstore.Queue), typ) },
		Idempotency: func(t *testing.T, q sftest.QueueBackend) storagefirst.IdempotencyStore {
			return q.(*pgstore.Queue).Store().Idempotency()
		},
		Stall: func(t *testing.T, q sftest.QueueBackend) { lockEnvelopes(t, q.(*pgstore.Queue).Store()) },
	})
}

// rejectType makes the database refuse envelopes of type typ: a CHECK constraint
// (SQLSTATE 23514) that Validate cannot know of.
func rejectType(t *testing.T, q *pgstore.Queue, typ string) {
	_, err := q.Store().Pool().Exec(t.Context(), fmt.Sprintf(`ALTER TABLE %s.envelopes ADD CONSTRAINT rejected_type CHECK (type <> '%s')`,
		pgx.Identifier{q.Store().Schema()}.Sanitize(), strings.ReplaceAll(typ, "'", "''")))
	require.NoError(t, err)
}

func TestIdempotencyConformance(t *testing.T) {
	t.Parallel()
	sftest.RunIdempotencySuite(t, func(t *testing.T) storagefirst.IdempotencyStore {
		return withCompletionPaths(setup(t).store)
	})
}

// TestIdempotencyConformanceAlone: the IdempotencyStore of NewIdempotencyStore
// (no Store: each Begin its own statement), as a Lambda function uses it behind
// RDS Proxy, on a schema migrated by the package's Migrate.
func TestIdempotencyConformanceAlone(t *testing.T) {
	t.Parallel()
	sftest.RunIdempotencySuite(t, func(t *testing.T) storagefirst.IdempotencyStore {
		pool, schema := pooledPool(t)
		_, err := pgstore.Migrate(context.Background(), pool, schema)
		require.NoError(t, err)
		idem, err := pgstore.NewIdempotencyStore(pool, pgstore.Config{Schema: schema})
		require.NoError(t, err)
		return idemWithPaths{IdempotencyStore: idem, pool: pool}
	})
}

// pooledPool is a pool as it runs behind RDS Proxy or PgBouncer
// (ConfigurePool), and a fresh schema.
func pooledPool(t *testing.T) (*pgxpool.Pool, string) {
	url, schema := pgtest.NewSchema(t)
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.MaxConns = 4
	pgstore.ConfigurePool(cfg)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool, schema
}

// pooledStore is a store as it runs behind RDS Proxy or PgBouncer: no prepared
// statements, no LISTEN.
func pooledStore(t *testing.T) *pgstore.Store {
	pool, schema := pooledPool(t)
	s, err := pgstore.New(pool, pgstore.Config{Schema: schema, Pooled: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	_, err = s.Migrate(context.Background())
	require.NoError(t, err)
	return s
}

func TestQueueConformancePooled(t *testing.T) {
	t.Parallel()
	sftest.RunQueueSuite(t, func(t *testing.T) sftest.QueueBackend {
		q, err := pooledStore(t).Queue("pooled")
		require.NoError(t, err)
		return struct{ sftest.QueueBackend }{q} // no Waker: pooled consumers poll
	}, sftest.QueueFeatures{RejectType: func(t *testing.T, q sftest.QueueBackend, typ string) {
		rejectType(t, q.(struct{ sftest.QueueBackend }).QueueBackend.(*pgstore.Queue), typ)
	}})
}

func TestIdempotencyConformancePooled(t *testing.T) {
	t.Parallel()
	sftest.RunIdempotencySuite(t, func(t *testing.T) storagefirst.IdempotencyStore {
		return withCompletionPaths(pooledStore(t))
	})
}
