package sftest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// MemoryIdempotencyStore is an in-memory storagefirst.IdempotencyStore for tests;
// it passes RunIdempotencySuite. Expired records are dropped lazily.
type MemoryIdempotencyStore struct {
	clock   storagefirst.Clock
	mu      sync.Mutex
	records map[[2]string]*storagefirst.IdempotencyRecord
	token   int64
}

var _ storagefirst.IdempotencyStore = (*MemoryIdempotencyStore)(nil)

// NewMemoryIdempotencyStore returns an empty store on clock (nil means the system
// clock).
func NewMemoryIdempotencyStore(clock storagefirst.Clock) *MemoryIdempotencyStore {
	if clock == nil {
		clock = storagefirst.SystemClock{}
	}
	return &MemoryIdempotencyStore{clock: clock, records: make(map[[2]string]*storagefirst.IdempotencyRecord)}
}

// Begin claims (scope, key) or reports its record; see storagefirst.IdempotencyStore.
func (s *MemoryIdempotencyStore) Begin(ctx context.Context, scope, key, fingerprint string, lease time.Duration) (storagefirst.BeginResult, error) {
	if err := ctx.Err(); err != nil {
		return storagefirst.BeginResult{}, err
	}
	if lease <= 0 {
		return storagefirst.BeginResult{}, fmt.Errorf("sftest: Begin needs a positive lease, got %v", lease)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	r := s.records[[2]string{scope, key}]
	if r != nil {
		live := r.State == storagefirst.IdempotencyCompleted && r.ExpiresAt.After(now) ||
			r.State == storagefirst.IdempotencyInProgress && r.LeaseUntil.After(now)
		if live && r.Fingerprint != "" && fingerprint != "" && r.Fingerprint != fingerprint {
			return storagefirst.BeginResult{Record: cloneRecord(r)}, fmt.Errorf("%w: scope %q key %q", storagefirst.ErrFingerprintMismatch, scope, key)
		}
		switch {
		case live && r.State == storagefirst.IdempotencyCompleted:
			return storagefirst.BeginResult{Record: cloneRecord(r)}, nil
		case live:
			return storagefirst.BeginResult{Record: cloneRecord(r)}, fmt.Errorf("%w: scope %q key %q until %s", storagefirst.ErrInProgress, scope, key, r.LeaseUntil.Format(time.RFC3339Nano))
		}
	}
	s.token++
	r = &storagefirst.IdempotencyRecord{Scope: scope, Key: key, Fingerprint: fingerprint,
		State: storagefirst.IdempotencyInProgress, Token: s.token, LeaseUntil: now.Add(lease)}
	s.records[[2]string{scope, key}] = r
	return storagefirst.BeginResult{Acquired: true, Claim: storagefirst.Claim{Scope: scope, Key: key, Token: r.Token, LeaseUntil: r.LeaseUntil}}, nil
}

// held returns the record claim still holds, or ErrLeaseLost. A claim whose lease
// ran out still holds the record until another worker takes it over.
func (s *MemoryIdempotencyStore) held(c storagefirst.Claim) (*storagefirst.IdempotencyRecord, error) {
	r := s.records[[2]string{c.Scope, c.Key}]
	if r == nil || r.Token != c.Token || r.State != storagefirst.IdempotencyInProgress {
		return nil, fmt.Errorf("%w: scope %q key %q token %d", storagefirst.ErrLeaseLost, c.Scope, c.Key, c.Token)
	}
	return r, nil
}

// Complete stores outcome under claim.
func (s *MemoryIdempotencyStore) Complete(ctx context.Context, c storagefirst.Claim, outcome storagefirst.Outcome, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[[2]string{c.Scope, c.Key}]; r != nil && r.Token == c.Token && r.State == storagefirst.IdempotencyCompleted {
		return nil
	}
	r, err := s.held(c)
	if err != nil {
		return err
	}
	r.State, r.ExpiresAt = storagefirst.IdempotencyCompleted, s.clock.Now().Add(c.CompletionTTL(ttl))
	r.Outcome = storagefirst.Outcome{Error: outcome.Error, Result: bytes.Clone(outcome.Result)}
	return nil
}

// Release gives up claim.
func (s *MemoryIdempotencyStore) Release(ctx context.Context, c storagefirst.Claim) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.held(c)
	if err != nil {
		return err
	}
	r.State, r.Fingerprint, r.LeaseUntil = storagefirst.IdempotencyReleased, "", time.Time{}
	return nil
}

// Extend renews claim for lease from now.
func (s *MemoryIdempotencyStore) Extend(ctx context.Context, c storagefirst.Claim, lease time.Duration) (storagefirst.Claim, error) {
	if err := ctx.Err(); err != nil {
		return storagefirst.Claim{}, err
	}
	if lease <= 0 {
		return storagefirst.Claim{}, fmt.Errorf("sftest: Extend needs a positive lease, got %v", lease)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[[2]string{c.Scope, c.Key}]; r != nil && r.Token == c.Token && r.State == storagefirst.IdempotencyCompleted {
		return c, nil
	}
	r, err := s.held(c)
	if err != nil {
		return storagefirst.Claim{}, err
	}
	r.LeaseUntil = s.clock.Now().Add(lease)
	c.LeaseUntil = r.LeaseUntil
	return c, nil
}

// Get returns the record of (scope, key).
func (s *MemoryIdempotencyStore) Get(ctx context.Context, scope, key string) (storagefirst.IdempotencyRecord, error) {
	if err := ctx.Err(); err != nil {
		return storagefirst.IdempotencyRecord{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[[2]string{scope, key}]
	if r == nil || r.State == storagefirst.IdempotencyCompleted && !r.ExpiresAt.After(s.clock.Now()) {
		return storagefirst.IdempotencyRecord{}, fmt.Errorf("%w: scope %q key %q", storagefirst.ErrNotFound, scope, key)
	}
	return cloneRecord(r), nil
}

func cloneRecord(r *storagefirst.IdempotencyRecord) storagefirst.IdempotencyRecord {
	c := *r
	c.Outcome.Result = bytes.Clone(r.Outcome.Result)
	return c
}

// Delete removes the record of (scope, key).
func (s *MemoryIdempotencyStore) Delete(ctx context.Context, scope, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, [2]string{scope, key})
	return nil
}

// Reap deletes expired records, as the stores' Reap does: completed ones past
// their expiry, and in-progress ones whose lease ran out more than staleAfter
// ago; at most limit (all when limit is zero or negative).
func (s *MemoryIdempotencyStore) Reap(ctx context.Context, staleAfter time.Duration, limit int) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	var n int64
	for k, r := range s.records {
		if limit > 0 && n == int64(limit) {
			break
		}
		expired := r.State != storagefirst.IdempotencyInProgress && !r.ExpiresAt.IsZero() && !r.ExpiresAt.After(now)
		stale := r.State == storagefirst.IdempotencyInProgress && !r.LeaseUntil.After(now.Add(-max(staleAfter, 0)))
		if expired || stale {
			delete(s.records, k)
			n++
		}
	}
	return n, nil
}
