package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// benchWorkers is the consumers' concurrency in the consume and e2e cases, the
// naive baseline's too.
const benchWorkers = 64

// consumeVariants are the consume case's variants, the baseline first: a
// hand-written consumer that takes one row per transaction (DELETE ... FOR UPDATE
// SKIP LOCKED) and writes the effect row in it; the Consumer with a no-op handler;
// and the Consumer behind Idempotent writing the same effect row, with the record
// (and the acknowledgement) in the handler's transaction (CompleteFromContext) or
// in one pipelined round trip (CompleteBatch).
var consumeVariants = []string{"naive_tx", "noop", "idempotent_tx", "idempotent_batch"}

// benchConsume drains -consume-n envelopes per variant and repetition, rotating
// the variants' order from one repetition to the next.
func benchConsume(ctx context.Context, c *benchConfig) error {
	for rep := 1; rep <= c.reps; rep++ {
		for i := range consumeVariants {
			v := consumeVariants[(i+rep)%len(consumeVariants)]
			r, err := consumeOnce(ctx, c, v)
			if err != nil {
				return fmt.Errorf("%s: %w", v, err)
			}
			r.Rep = rep
			if v != "naive_tx" {
				r.Baseline = "naive_tx"
			}
			c.print(r)
		}
	}
	return nil
}

func consumeOnce(ctx context.Context, c *benchConfig, variant string) (result, error) {
	h, err := newHarness(ctx, c)
	if err != nil {
		return result{}, err
	}
	defer h.close()
	q, err := h.store.Queue("bench")
	if err != nil {
		return result{}, err
	}
	if _, err := h.pool.Exec(ctx, "CREATE TABLE "+h.schema+".orders (key text PRIMARY KEY, envelope_id text NOT NULL)"); err != nil {
		return result{}, err
	}
	insert := "INSERT INTO " + h.schema + ".orders VALUES ($1, $2)"
	target := int64(c.consumeN)
	res := result{Case: "consume", Backend: "postgres", Variant: variant, Concurrency: benchWorkers, Envelopes: target,
		SynchronousCo: h.synchronousCommit, Settings: h.settings}
	if variant == "naive_tx" {
		if _, err := h.pool.Exec(ctx, "CREATE TABLE "+h.schema+".naive (LIKE "+h.schema+".envelopes INCLUDING ALL)"); err != nil {
			return result{}, err
		}
		if err := fillNaive(ctx, h, c.consumeN); err != nil {
			return result{}, err
		}
		secs, err := naiveConsume(ctx, h, insert, target)
		if err != nil {
			return result{}, err
		}
		res.Seconds, res.PerSecond = secs, float64(target)/secs
		return res, nil
	}
	if err := fill(ctx, q, c.consumeN); err != nil {
		return result{}, err
	}
	var handler storagefirst.Handler = storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return nil })
	if variant != "noop" {
		idem := h.store.Idempotency()
		// The documented handler: the effect (an order row) and the idempotency
		// record commit together, and so does the acknowledgement.
		effect := func(ctx context.Context, e storagefirst.Envelope) error {
			return h.store.WriteTx(ctx, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, insert, e.Key(), e.ID); err != nil {
					return err
				}
				return idem.CompleteFromContext(ctx, tx)
			})
		}
		if variant == "idempotent_batch" {
			effect = func(ctx context.Context, e storagefirst.Envelope) error {
				var b pgx.Batch
				b.Queue(insert, e.Key(), e.ID)
				return idem.CompleteBatch(ctx, h.pool, &b, storagefirst.Outcome{})
			}
		}
		idempotent, err := storagefirst.Idempotent(storagefirst.IdempotentConfig{Store: idem, Scope: "bench"})
		if err != nil {
			return result{}, err
		}
		handler = storagefirst.Chain(storagefirst.HandlerFunc(effect), idempotent)
	}
	var done, other atomic.Int64
	finished := make(chan struct{})
	cons, err := storagefirst.NewConsumer(storagefirst.ConsumerConfig{
		Queue: q, Handler: handler, Workers: benchWorkers, Logger: slog.New(slog.DiscardHandler),
		OnProcessed: func(_ context.Context, p storagefirst.Processed) {
			if p.Action == storagefirst.ActionAcked && p.AnswerErr == nil {
				if done.Add(1) == target {
					close(finished)
				}
				return
			}
			other.Add(1)
		},
	})
	if err != nil {
		return result{}, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = cons.Run(runCtx) }()
	defer func() { stop(); <-runDone }()
	select {
	case <-finished:
	case <-time.After(5 * time.Minute):
		return result{}, fmt.Errorf("only %d of %d acked (%d otherwise answered)", done.Load(), target, other.Load())
	}
	res.Seconds = time.Since(start).Seconds()
	res.PerSecond = float64(target) / res.Seconds
	st := h.store.BatchStats()
	if st.AckBatches > 0 {
		res.BatchAvg = float64(st.Acks) / float64(st.AckBatches)
	}
	return res, nil
}

func fillNaive(ctx context.Context, h *harness, n int) error {
	const chunk = 1000
	for i := 0; i < n; i += chunk {
		ids, payloads := make([]string, 0, chunk), make([]string, 0, chunk)
		for range min(chunk, n-i) {
			e := env()
			ids, payloads = append(ids, e.ID), append(payloads, string(e.Payload))
		}
		if _, err := h.pool.Exec(ctx, "INSERT INTO "+h.schema+`.naive (queue, id, type, accepted_at, payload)
			SELECT 'bench', id, 'pizza.order.create', now(), p FROM unnest($1::text[], $2::text[]) AS u(id, p)`, ids, payloads); err != nil {
			return err
		}
	}
	return nil
}

// naiveConsume drains the naive table with benchWorkers goroutines, each taking
// one row per transaction and writing its effect row in it.
func naiveConsume(ctx context.Context, h *harness, insert string, target int64) (float64, error) {
	take := "DELETE FROM " + h.schema + ".naive WHERE (queue, id) = (SELECT queue, id FROM " + h.schema +
		".naive WHERE queue = 'bench' ORDER BY available_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id"
	return drainNaive(target, pgx.ErrNoRows, func() error {
		return pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
			var id string
			if err := tx.QueryRow(ctx, take).Scan(&id); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, insert, id, id)
			return err
		})
	})
}

// drainNaive is a naive consumer: benchWorkers goroutines call takeOne, which
// takes one row and writes its effect in one transaction, until target rows
// are taken. takeOne returns noRows when it found none (others may hold them
// locked, or roll back: the worker tries again until target is reached, or
// until another worker failed). It returns the seconds it took and the first
// other error, which stops its worker.
func drainNaive(target int64, noRows error, takeOne func() error) (float64, error) {
	var (
		done     atomic.Int64
		failed   atomic.Bool
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	start := time.Now()
	for range benchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done.Load() < target {
				err := takeOne()
				switch {
				case err == nil:
					done.Add(1)
				case errors.Is(err, noRows):
					if failed.Load() { // the missing rows may be the failed worker's: stop
						return
					}
				default:
					failed.Store(true)
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start).Seconds(), firstErr
}
