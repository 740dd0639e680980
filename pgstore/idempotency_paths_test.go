package pgstore_test

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// idemWithPaths is the store's IdempotencyStore with its transactional and
// batched completions offered to the conformance suite.
type idemWithPaths struct {
	*pgstore.IdempotencyStore
	pool *pgxpool.Pool
}

func withCompletionPaths(s *pgstore.Store) idemWithPaths {
	return idemWithPaths{IdempotencyStore: s.Idempotency(), pool: s.Pool()}
}

// IdempotencyCompletionPaths: CompleteFromContext and CompleteTx (given no TTL)
// in a transaction that also writes, and CompleteBatch after a statement.
func (i idemWithPaths) IdempotencyCompletionPaths() []sftest.CompletionPath {
	pool := i.pool
	return []sftest.CompletionPath{
		{Name: "CompleteFromContext", Complete: func(ctx context.Context) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "SELECT 1"); err != nil {
					return err
				}
				return i.CompleteFromContext(ctx, tx)
			})
		}},
		{Name: "CompleteTx", Complete: func(ctx context.Context) error {
			c, ok := storagefirst.ClaimFromContext(ctx)
			if !ok {
				return errors.New("no claim in the context")
			}
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				return i.CompleteTx(ctx, tx, c, storagefirst.Outcome{}, 0)
			})
		}},
		{Name: "CompleteBatch", Complete: func(ctx context.Context) error {
			var b pgx.Batch
			b.Queue("SELECT 1")
			return i.CompleteBatch(ctx, pool, &b, storagefirst.Outcome{})
		}},
	}
}
