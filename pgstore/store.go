package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/internal/batch"
)

// Defaults of Config.
const (
	// SchemaDefault is the schema that holds the store's tables.
	SchemaDefault = "storagefirst"
	// MaxBatchDefault bounds the envelopes (or acknowledgements) in one group commit.
	MaxBatchDefault = 1000
	// MaxBatchWaitDefault is how long a group commit waits for more callers: zero, so
	// a lone caller never waits; batches form from the callers that arrive while the
	// previous batch commits.
	MaxBatchWaitDefault = 0
	// MaxConcurrentBatchesDefault is how many group commits of one kind (puts, or
	// acknowledgements) may run at once.
	MaxConcurrentBatchesDefault = 2
	// WriteTimeoutDefault bounds each group-commit transaction.
	WriteTimeoutDefault = 30 * time.Second
	// ListenPingIntervalDefault is how long the listening connection may stay quiet
	// before it is pinged.
	ListenPingIntervalDefault = 15 * time.Second
)

// Errors of this package.
var (
	// ErrInvalidSchema: Config.Schema is not a plain lower-case identifier.
	ErrInvalidSchema = errors.New("pgstore: invalid schema name")
	// ErrInvalidQueueName: a queue name is empty, longer than 128 bytes, not UTF-8
	// or holds a NUL byte.
	ErrInvalidQueueName = errors.New("pgstore: invalid queue name")
)

// Config configures a Store. The zero value means every documented default.
type Config struct {
	// Schema holds the store's tables: a lower-case identifier of at most 63
	// characters ([a-z_][a-z0-9_]*). Default SchemaDefault.
	Schema string
	// MaxBatch bounds one group commit. Default MaxBatchDefault.
	MaxBatch int
	// MaxBatchWait is how long a group commit may wait for more callers once it has
	// one. Default MaxBatchWaitDefault (none).
	MaxBatchWait time.Duration
	// MaxConcurrentBatches bounds the group commits of one kind running at once.
	// Default MaxConcurrentBatchesDefault.
	MaxConcurrentBatches int
	// WriteTimeout bounds each group-commit transaction and each WriteTx (so each
	// PutKeyed), its statements included. Default WriteTimeoutDefault.
	WriteTimeout time.Duration
	// ListenPingInterval is how long the LISTEN connection may go without a
	// notification before the store pings the server on it; a ping unanswered
	// within the same interval counts the connection dead, and the listener
	// reconnects (waking every subscriber once). Default ListenPingIntervalDefault.
	ListenPingInterval time.Duration
	// Pooled says the pool goes through a transaction pooler (RDS Proxy, PgBouncer):
	// no LISTEN/NOTIFY (consumers poll instead). Use ConfigurePool for the pool.
	Pooled bool
	// SynchronousBookkeeping makes consumers' bookkeeping (claims, acknowledgements,
	// retries, dead letters, lease extensions, idempotency claims and releases)
	// commit with synchronous_commit on. By default it commits asynchronously: a
	// database crash can then forget the last fraction of a second of it, which only
	// redelivers envelopes (at-least-once) or frees idempotency keys early (fencing
	// tokens carry the database's clock, so one the sequence re-issues after such
	// a crash still fences the lost claim's holder); what Put acknowledges and what
	// Complete records is always durable.
	SynchronousBookkeeping bool
	// Logger logs background errors (the listener, RunReaper). Default slog.Default().
	Logger *slog.Logger
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Store is the Postgres store: queues and an idempotency store over one pool.
// It is safe for concurrent use. Close it to stop its background goroutines; the
// pool stays the caller's.
type Store struct {
	pool   *pgxpool.Pool
	cfg    Config
	schema string // quoted identifier
	q      queries
	ctx    context.Context
	cancel context.CancelFunc

	puts   *batch.Batcher[putItem, batch.Outcome[bool]]
	acks   *batch.Batcher[ackItem, bool]
	begins *batch.Batcher[beginItem, batch.Outcome[beginOutcome]]
	wakes  *notifier
	idem   *IdempotencyStore

	mu       sync.Mutex
	listener *listener
}

// New returns a Store on pool. It validates cfg, reporting every problem; it does
// not touch the database (call Migrate).
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	errs := checkPoolAndSchema("New", pool, &cfg)
	if cfg.MaxBatch < 0 || cfg.MaxBatchWait < 0 || cfg.WriteTimeout < 0 || cfg.MaxConcurrentBatches < 0 || cfg.ListenPingInterval < 0 {
		errs = append(errs, errors.New("pgstore: MaxBatch, MaxConcurrentBatches, MaxBatchWait, WriteTimeout and ListenPingInterval must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = MaxBatchDefault
	}
	if cfg.MaxConcurrentBatches == 0 {
		cfg.MaxConcurrentBatches = MaxConcurrentBatchesDefault
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = WriteTimeoutDefault
	}
	if cfg.ListenPingInterval == 0 {
		cfg.ListenPingInterval = ListenPingIntervalDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Store{pool: pool, cfg: cfg, schema: pgx.Identifier{cfg.Schema}.Sanitize()}
	s.q = newQueries(s.schema, cfg.SynchronousBookkeeping)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	bc := batch.Config{MaxBatch: cfg.MaxBatch, Concurrency: cfg.MaxConcurrentBatches, MaxWait: cfg.MaxBatchWait}
	s.puts = batch.New(s.ctx, bc, s.execPut)
	s.acks = batch.New(s.ctx, bc, s.execAck)
	s.begins = batch.New(s.ctx, bc, s.execBegin)
	s.wakes = newNotifier(s)
	s.idem = &IdempotencyStore{pool: pool, schema: cfg.Schema, q: s.q.idemQueries, writeTimeout: cfg.WriteTimeout, logger: cfg.Logger}
	s.idem.claim = s.claimBatched
	return s, nil
}

// checkPoolAndSchema reports a missing pool and an invalid Config.Schema, which
// it first defaults to SchemaDefault, for the constructor named fn.
func checkPoolAndSchema(fn string, pool *pgxpool.Pool, cfg *Config) []error {
	var errs []error
	if pool == nil {
		errs = append(errs, fmt.Errorf("pgstore: %s needs a pool", fn))
	}
	if cfg.Schema == "" {
		cfg.Schema = SchemaDefault
	}
	if !identRE.MatchString(cfg.Schema) {
		errs = append(errs, fmt.Errorf("%w: %q", ErrInvalidSchema, cfg.Schema))
	}
	return errs
}

// sameDatabase reports whether o keeps its tables where s does: the same Store, or
// one on the same pool and schema.
func (s *Store) sameDatabase(o *Store) bool {
	return s == o || (s.pool == o.pool && s.cfg.Schema == o.cfg.Schema)
}

// Pool returns the pool the store uses.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Schema returns the (unquoted) schema name.
func (s *Store) Schema() string { return s.cfg.Schema }

// Close stops the store's background work: Puts and Acks not yet executing fail
// with storagefirst.ErrClosed, group commits already running finish (each within
// WriteTimeout) and the listener stops. It does not close the pool. It returns
// nil: the error is there so that both stores have the shape of io.Closer.
func (s *Store) Close() error {
	s.cancel()
	s.puts.Wait()
	s.acks.Wait()
	s.begins.Wait()
	s.wakes.wait()
	s.mu.Lock()
	l := s.listener
	s.mu.Unlock()
	if l != nil {
		l.wait()
	}
	return nil
}

// sql replaces {{schema}} in a template with the quoted schema name.
func (s *Store) sql(template string) string {
	return strings.ReplaceAll(template, "{{schema}}", s.schema)
}

// BatchStats counts the group commits a Store has run since it was created.
type BatchStats struct {
	// PutBatches transactions stored PutEnvelopes envelopes (duplicates included).
	PutBatches, PutEnvelopes int64
	// AckBatches statements acknowledged Acks envelopes.
	AckBatches, Acks int64
	// BeginBatches statements claimed (or looked for) Begins idempotency keys
	// (IdempotencyStore.Begin calls).
	BeginBatches, Begins int64
}

// BatchStats returns the store's group-commit counters: PutEnvelopes/PutBatches is
// the average batch size.
func (s *Store) BatchStats() BatchStats {
	var st BatchStats
	st.PutBatches, st.PutEnvelopes = s.puts.Stats()
	st.AckBatches, st.Acks = s.acks.Stats()
	st.BeginBatches, st.Begins = s.begins.Stats()
	return st
}
