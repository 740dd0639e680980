package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/storagefirst/storagefirst-go/internal/batch"
)

// beginItem is one Begin on its way into a batched claim of idempotency keys.
type beginItem struct {
	scope, key, fingerprint string
	lease                   time.Duration
}

// beginOutcome is what the batched claim did for one item: Acquired with its
// token and lease, or not (the key has a live record, or the item repeated a key
// earlier in the same batch): the caller then reads the record.
type beginOutcome struct {
	acquired   bool
	token      int64
	leaseUntil time.Time
}

// execBegin claims the keys of items in one statement (an upsert of every key),
// so that the Begins of concurrent workers, a Consumer's whole claimed batch of
// envelopes say, share one round trip and one commit. Each key appears once (an
// upsert may not touch a row twice; a repeat is not acquired, and its caller reads
// the record and tries again), and the rows are taken in key order, so that
// concurrent batches lock them in the same order.
//
// A batch the database rejects for one item's sake (a key too long for the index,
// say) is split until that item is alone (batch.Isolate), so that it fails by
// itself and every other Begin of the batch goes through.
func (s *Store) execBegin(ctx context.Context, items []beginItem) ([]batch.Outcome[beginOutcome], error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
	defer cancel()
	return batch.Isolate(ctx, items, s.beginMany, rowRejected), nil
}

// claimBatched runs the upsert of one Begin through the store's batcher.
func (s *Store) claimBatched(ctx context.Context, it beginItem) (beginOutcome, error) {
	outs, err := s.begins.Do(ctx, []beginItem{it})
	if err != nil {
		return beginOutcome{}, err
	}
	return outs[0].Value, outs[0].Err
}

// claimOne runs the upsert of one Begin (idemBegin) on db.
func claimOne(ctx context.Context, db queryRower, idemBegin string, it beginItem) (beginOutcome, error) {
	var o beginOutcome
	err := db.QueryRow(ctx, idemBegin, it.scope, it.key, it.fingerprint, it.lease).Scan(&o.token, &o.leaseUntil)
	switch {
	case err == nil:
		o.acquired = true
	case errors.Is(err, pgx.ErrNoRows):
		err = nil // the key has a live record
	}
	return o, err
}

// beginMany is one execution of a batched claim (see execBegin).
func (s *Store) beginMany(ctx context.Context, items []beginItem) ([]beginOutcome, error) {
	type key struct{ scope, key string }
	first := make(map[key]int, len(items))
	uniq := make([]int, 0, len(items))
	for i, it := range items {
		k := key{it.scope, it.key}
		if _, dup := first[k]; !dup {
			first[k] = i
			uniq = append(uniq, i)
		}
	}
	slices.SortFunc(uniq, func(a, b int) int {
		return cmp.Or(cmp.Compare(items[a].scope, items[b].scope), cmp.Compare(items[a].key, items[b].key))
	})
	n := len(uniq)
	got := make(map[key]beginOutcome, n)
	if n == 1 {
		// A lone Begin skips the arrays.
		it := items[uniq[0]]
		o, err := claimOne(ctx, s.pool, s.q.idemBegin, it)
		if err != nil {
			return nil, err
		}
		got[key{it.scope, it.key}] = o
	} else {
		scopes, keys, fps, leases := make([]string, n), make([]string, n), make([]string, n), make([]int64, n)
		for j, i := range uniq {
			it := items[i]
			scopes[j], keys[j], fps[j], leases[j] = it.scope, it.key, it.fingerprint, it.lease.Microseconds()
		}
		rows, err := s.pool.Query(ctx, s.q.idemBeginMany, scopes, keys, fps, leases)
		if err != nil {
			return nil, err
		}
		var (
			k key
			o beginOutcome
		)
		if _, err := pgx.ForEachRow(rows, []any{&k.scope, &k.key, &o.token, &o.leaseUntil}, func() error {
			o.acquired = true
			got[k] = o
			return nil
		}); err != nil {
			return nil, err
		}
	}
	out := make([]beginOutcome, len(items))
	for i, it := range items {
		k := key{it.scope, it.key}
		if first[k] == i {
			out[i] = got[k]
		}
	}
	return out, nil
}

// checkBeginKey refuses, before it joins a batch, what Postgres cannot store in a
// text column: a NUL byte or invalid UTF-8 in the scope, key or fingerprint.
func checkBeginKey(scope, key, fingerprint string) error {
	for _, f := range [...]struct{ name, v string }{{"scope", scope}, {"key", key}, {"fingerprint", fingerprint}} {
		if strings.IndexByte(f.v, 0) >= 0 || !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: idempotency %s %q holds a NUL byte or invalid UTF-8", ErrInvalidIdempotencyKey, f.name, f.v)
		}
	}
	return nil
}

// ErrInvalidIdempotencyKey is returned (wrapped, and marked permanent) by Begin
// for a scope, key or fingerprint the database cannot store: one holding a NUL
// byte or invalid UTF-8, or one too long for its index.
var ErrInvalidIdempotencyKey = errors.New("pgstore: invalid idempotency key")
