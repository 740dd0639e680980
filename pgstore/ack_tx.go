package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// AckTx acknowledges the delivery of lease inside tx, the transaction that applies
// the envelope's effect: the envelope leaves the queue if and only if tx commits.
// When the lease's token no longer holds the envelope (it expired and was claimed
// again, or was answered already) it fails with an error wrapping
// storagefirst.ErrLeaseLost, and tx can no longer commit. tx must be on the
// store's database.
//
// Called from a handler under a storagefirst.Consumer with the lease of the
// delivery in ctx (storagefirst.DeliveryLeaseFromContext), it tells the Consumer
// (storagefirst.MarkAcked) that the delivery needs no acknowledgement of its own
// once the handler returns nil. Behind storagefirst.Idempotent, CompleteTx and
// CompleteFromContext acknowledge the delivery themselves
// (when the delivery was given to that Idempotent whole); calling AckTx as well
// is harmless: acknowledging a lease again in the transaction that acknowledged
// it succeeds.
func (q *Queue) AckTx(ctx context.Context, tx pgx.Tx, l storagefirst.Lease) error {
	var discard any
	err := tx.QueryRow(ctx, q.s.q.ackLeased, q.name, l.ID, l.Token).Scan(&discard)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == ackLostCode:
		return leaseLost(l)
	case err != nil:
		return fmt.Errorf("pgstore: ack in transaction: %w", err)
	}
	if sq, held, ok := storagefirst.DeliveryLeaseFromContext(ctx); ok && held.ID == l.ID && held.Token == l.Token {
		if hq, ok := sq.(*Queue); ok && hq.name == q.name && hq.s.sameDatabase(q.s) {
			storagefirst.MarkAcked(ctx)
		}
	}
	return nil
}
