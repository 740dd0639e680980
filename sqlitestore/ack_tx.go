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
// delivery themselves (when the delivery was given to that Idempotent whole);
// calling AckTx as well is harmless: acknowledging a lease again in the
// transaction that acknowledged it succeeds.
func (q *Queue) AckTx(ctx context.Context, tx *sql.Tx, l storagefirst.Lease) error {
	if err := q.s.ackTx(ctx, tx, q.name, l); err != nil {
		return err
	}
	if sq, held, ok := storagefirst.DeliveryLeaseFromContext(ctx); ok && held.ID == l.ID && held.Token == l.Token {
		if hq, ok := sq.(*Queue); ok && hq.name == q.name && hq.s == q.s {
			storagefirst.MarkAcked(ctx)
		}
	}
	return nil
}

// ackMark names a lease a transaction acknowledged.
type ackMark struct {
	queue, id string
	token     int64
}

// ackTx deletes the envelope leased by l in tx, or fails with an error wrapping
// storagefirst.ErrLeaseLost. Within one WriteTx transaction it is idempotent: a
// lease this transaction acknowledged already is acknowledged again quietly.
func (s *Store) ackTx(ctx context.Context, tx *sql.Tx, queue string, l storagefirst.Lease) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM envelopes WHERE queue = ? AND id = ? AND lease_token = ? AND state = 1`,
		queue, l.ID, l.Token)
	if err != nil {
		return fmt.Errorf("sqlitestore: ack in transaction: %w", err)
	}
	mark := ackMark{queue: queue, id: l.ID, token: l.Token}
	s.ackedMu.Lock()
	defer s.ackedMu.Unlock()
	acked, inWriteTx := s.ackedInTx[tx]
	if n, _ := res.RowsAffected(); n == 1 {
		if inWriteTx {
			if acked == nil {
				acked = make(map[ackMark]struct{})
				s.ackedInTx[tx] = acked
			}
			acked[mark] = struct{}{}
		}
		return nil
	}
	if _, ok := acked[mark]; ok {
		return nil
	}
	return leaseLost(l)
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
