package storagefirst

import (
	"encoding/json"
	"time"
)

// KeyedPut is an envelope accepted under an idempotency key, to be stored together
// with the key's record in one transaction, so that the record exists exactly when
// the envelope does: a retry after a crash or an unknown outcome finds the first
// request, and a transaction that failed leaves the key free. pgstore and
// sqlitestore queues store one with PutKeyed (and PutKeyedTx, in the caller's
// transaction); the ingest front doors use them for the Idempotency-Key header.
type KeyedPut struct {
	// Scope and Key name the idempotency record.
	Scope, Key string
	// Fingerprint identifies the request, e.g. a hash of its body: a later request
	// with the same key and another fingerprint is refused with
	// ErrFingerprintMismatch. Empty matches anything.
	Fingerprint string
	// Answer is what repeats of the key are answered with, stored as the record's
	// Outcome.Result (a front door stores the body of its 202).
	Answer json.RawMessage
	// TTL is how long the record answers repeats. Default IdempotencyTTLDefault.
	TTL time.Duration
	// Envelope is stored only when the key is free.
	Envelope Envelope
}

// KeyedResult says what a keyed put did.
type KeyedResult struct {
	// Stored is true when the call stored the envelope and the completed record
	// (for a Tx variant: in the caller's transaction, so once it commits).
	Stored bool
	// Record is the key's live record when Stored is false: completed, with the
	// first request's answer in Outcome.Result. Nothing was stored.
	Record IdempotencyRecord
}
