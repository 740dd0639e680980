package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// AckTx acknowledges the delivery of lease inside tx (from Store.WriteTx), the
// transaction that applies the envelope's effect: the envelope leaves the queue if
// and only if tx commits. When the lease's token no longer holds the envelope it
// fails with an error wrapping storagefirst.ErrLeaseLost: roll tx back (WriteTx
// does when its function fails).
//
// Called from a handler under a storagefirst.Consumer with the lease of the
// delivery in ctx, it tells the Consumer (storagefirst.MarkAcked) that the delivery
// needs no acknowledgement of its own once the handler returns nil. Behind
// storagefirst.Idempotent, CompleteTx and CompleteFromContext acknowledge the
// delivery themselves: do not call AckTx too.
func (q *Queue) AckTx(ctx context.Context, tx *sql.Tx, l storagefirst.Lease) error {
	if err := ackTx(ctx, tx, q.name, l); err != nil {
		return err
	}
	if sq, held, ok := storagefirst.DeliveryLeaseFromContext(ctx); ok && held.ID == l.ID && held.Token == l.Token {
		if hq, ok := sq.(*Queue); ok && hq.name == q.name && hq.s == q.s {
			storagefirst.MarkAcked(ctx)
		}
	}
	return nil
}

func ackTx(ctx context.Context, tx *sql.Tx, queue string, l storagefirst.Lease) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM envelopes WHERE queue = ? AND id = ? AND lease_token = ? AND state = 1`,
		queue, l.ID, l.Token)
	if err != nil {
		return fmt.Errorf("sqlitestore: ack in transaction: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return leaseLost(l)
	}
	return nil
}

// deliveryToAck returns the queue and lease of the delivery in ctx when a
// completion of the claim in ctx (mine) should acknowledge it in the same
// transaction: the queue is a Queue of this store.
func (i *IdempotencyStore) deliveryToAck(ctx context.Context, mine bool) (*Queue, storagefirst.Lease, bool) {
	if !mine || !storagefirst.ClaimAcksDelivery(ctx) {
		return nil, storagefirst.Lease{}, false
	}
	sq, l, ok := storagefirst.DeliveryLeaseFromContext(ctx)
	if !ok {
		return nil, storagefirst.Lease{}, false
	}
	q, ok := sq.(*Queue)
	if !ok || q.s != i.s {
		return nil, storagefirst.Lease{}, false
	}
	return q, l, true
}
