package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"

	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// idemWithPaths is the store's IdempotencyStore with its transactional
// completions offered to the conformance suite.
type idemWithPaths struct {
	*sqlitestore.IdempotencyStore
	store *sqlitestore.Store
}

func withCompletionPaths(s *sqlitestore.Store) idemWithPaths {
	return idemWithPaths{IdempotencyStore: s.Idempotency(), store: s}
}

// IdempotencyCompletionPaths: CompleteFromContext and CompleteTx (given no TTL),
// each in a write transaction.
func (i idemWithPaths) IdempotencyCompletionPaths() []sftest.CompletionPath {
	return []sftest.CompletionPath{
		{Name: "CompleteFromContext", Complete: func(ctx context.Context) error {
			return i.store.WriteTx(ctx, func(tx *sql.Tx) error { return i.CompleteFromContext(ctx, tx) })
		}},
		{Name: "CompleteTx", Complete: func(ctx context.Context) error {
			c, ok := storagefirst.ClaimFromContext(ctx)
			if !ok {
				return errors.New("no claim in the context")
			}
			return i.store.WriteTx(ctx, func(tx *sql.Tx) error {
				return i.CompleteTx(ctx, tx, c, storagefirst.Outcome{}, 0)
			})
		}},
	}
}
