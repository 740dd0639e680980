package sfotel

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Idempotency outcomes counted by the Idempotency wrapper.
const (
	IdempotencyNew                 = "new"
	IdempotencyReplayed            = "replayed"
	IdempotencyInProgress          = "in_progress"
	IdempotencyFingerprintMismatch = "fingerprint_mismatch"
	IdempotencyError               = "error"
)

// Idempotency wraps s so that every Begin is counted by outcome and scope: new
// (acquired), replayed (already completed), in_progress, fingerprint_mismatch or
// error. Every other method is s's own.
func (i *Instrumentation) Idempotency(s storagefirst.IdempotencyStore) storagefirst.IdempotencyStore {
	return &idempotencyStore{IdempotencyStore: s, i: i}
}

type idempotencyStore struct {
	storagefirst.IdempotencyStore
	i *Instrumentation
}

func (s *idempotencyStore) Begin(ctx context.Context, scope, key, fingerprint string, lease time.Duration) (storagefirst.BeginResult, error) {
	res, err := s.IdempotencyStore.Begin(ctx, scope, key, fingerprint, lease)
	outcome := IdempotencyNew
	switch {
	case errors.Is(err, storagefirst.ErrInProgress):
		outcome = IdempotencyInProgress
	case errors.Is(err, storagefirst.ErrFingerprintMismatch):
		outcome = IdempotencyFingerprintMismatch
	case err != nil:
		outcome = IdempotencyError
	case !res.Acquired:
		outcome = IdempotencyReplayed
	}
	s.i.idempotency.Add(ctx, 1, metric.WithAttributes(AttrScope.String(scope), AttrOutcome.String(outcome)))
	return res, err
}
