package dlq

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Errors of Replay and of dlq/sqs.MoveBack.
var (
	// ErrNoSink: Replay was given no Sink and the Source cannot requeue in place.
	ErrNoSink = errors.New("dlq: no sink to replay into, and the source cannot requeue in place")
	// ErrMoveNotApplicable: StartMessageMoveTask moves only messages that an SQS
	// redrive policy moved; dead letters written by EventBridge, a Lambda
	// destination or a Destination must be replayed by reading and re-sending.
	ErrMoveNotApplicable = errors.New("dlq: StartMessageMoveTask is not applicable")
	// ErrEmpty: the dead-letter queue holds nothing.
	ErrEmpty = errors.New("dlq: the dead-letter queue is empty")
)

// ReplayOptions configures Replay. The zero value replays everything, as fast as
// it can, going on after failures.
type ReplayOptions struct {
	Filter Filter
	// DryRun reads and filters but re-puts and deletes nothing.
	DryRun bool
	// RatePerSecond, if positive, bounds the replays per second.
	RatePerSecond float64
	// StopOnError stops at the first entry that cannot be replayed.
	StopOnError bool
	// Limit, if positive, bounds the entries replayed.
	Limit int
	// Progress, if set, is called after each entry with the summary so far.
	Progress func(Summary)
	// Clock paces the rate limit. Default storagefirst.SystemClock. (The holds
	// of a Holder source are paced in real time: they run out in real time.)
	Clock storagefirst.Clock
}

// Summary is the outcome of a Replay.
type Summary struct {
	// Replayed were re-put durably and deleted (with DryRun: would have been).
	Replayed int `json:"replayed"`
	// Skipped did not match the filter or are of unknown shape.
	Skipped int `json:"skipped"`
	// Failed could not be re-put, or were re-put but not deleted (a re-run replays
	// them again, harmlessly).
	Failed int `json:"failed"`
	// Errors holds the first few failures.
	Errors []string `json:"errors,omitempty"`
	DryRun bool     `json:"dry_run,omitempty"`
}

const maxSummaryErrors = 10

func (s *Summary) fail(e Entry, err error) {
	s.Failed++
	if len(s.Errors) < maxSummaryErrors {
		s.Errors = append(s.Errors, fmt.Sprintf("%s: %v", e.Envelope.ID, err))
	}
}

// Replay reads src once and puts its entries back: into sink when one is given
// (marked replayed, keeping each envelope's idempotency key, so that work that did
// complete is skipped by an idempotent consumer), or in place when sink is nil and
// src is a Requeuer. Each entry is deleted from src only after its re-put is
// durable, so an interrupted replay can be run again: what was re-put but not
// deleted is re-put again, which sinks and idempotent consumers absorb.
// Entries of unknown shape are skipped (they are kept; inspect them with List).
// What the pass read and did not delete (skipped or failed entries) stays held
// (Holder) until the pass ends, and a message read again anyway (same
// Entry.MessageID) is not handled again: a Read that brings nothing new ends
// the pass.
//
// A Put never revives a dead letter: a re-put under the dead letter's own ID into
// the store that holds it (through any handle, a SinkFunc, a wrapping sink or a
// second Store on the same database) would be a duplicate of the dead letter
// itself, and deleting it afterwards would lose the envelope. So the entries of a
// Requeuer (a store's own dead letters, FromDeadLetters) are re-put into a sink
// under a new ID derived from their ID and the time they died (the same on every
// run, so a re-run stays a duplicate), with Envelope.IdempotencyKey set to their
// Key and their original ID in MetadataReplayOf (see OriginalID); the entries of
// other sources keep their ID. When sink is the very queue a FromDeadLetters source
// reads (the same handle, or one equal by value), Replay requeues in place
// instead, keeping ID and failure history; pass a nil sink to say so explicitly.
//
// Replay returns the summary and, when it stopped early, why (StopOnError, or
// ctx's error).
func Replay(ctx context.Context, src Source, sink storagefirst.Sink, opts ReplayOptions) (_ Summary, err error) {
	sum := Summary{DryRun: opts.DryRun}
	defer func() {
		if rerr := release(ctx, src); rerr != nil && err == nil {
			err = rerr
		}
	}()
	holder, _ := src.(Holder)
	hold := func(es []Entry) {
		if holder != nil {
			// Best effort: a message whose hold lapses is read again by a later pass.
			_ = holder.Hold(ctx, es)
		}
	}
	requeuer, canRequeue := src.(Requeuer)
	if canRequeue && sink != nil && sinkIsSource(src, sink) {
		sink = nil // requeue in place: a Put would be a duplicate of the dead letter
	}
	if sink == nil && !canRequeue {
		return sum, ErrNoSink
	}
	clock := opts.Clock
	if clock == nil {
		clock = storagefirst.SystemClock{}
	}
	var interval time.Duration
	if opts.RatePerSecond > 0 {
		interval = time.Duration(float64(time.Second) / opts.RatePerSecond)
	}
	var next time.Time
	report := func() {
		if opts.Progress != nil {
			opts.Progress(sum)
		}
	}
	// kept holds what this pass read and did not delete (skipped, failed, or
	// counted by a dry run): it stays held until the pass ends, so that a slow pass
	// does not read it again. seen is every message ID read, so that one read
	// again anyway (its hold lapsed) is not handled twice.
	var kept []Entry
	seen := map[string]bool{}
	// holdRest holds what the pass has kept and rest (what it read and has yet
	// to handle) at most once per holdEvery of real time (the source's holds
	// run out in real time, whatever opts.Clock says): a hold before every
	// entry would go through everything kept each time, quadratic in a pass
	// with many skips.
	holdEvery := holdStep
	if p, ok := src.(HoldPacer); ok {
		if d := p.HoldInterval(); d > 0 && d < holdEvery {
			holdEvery = d
		}
	}
	var lastHold time.Time
	holdRest := func(rest []Entry) {
		if now := time.Now(); lastHold.IsZero() || now.Sub(lastHold) >= holdEvery {
			lastHold = now
			hold(append(kept[:len(kept):len(kept)], rest...))
		}
	}
	// stale counts the Reads in a row that brought only entries already seen:
	// with a Holder, kept entries whose hold lapsed anyway (a slow Put) come
	// back first and hide the rest for a while; each such Read hides them
	// again, so a pass reads on until it has gone round them all before it
	// concludes there is nothing new.
	stale := 0
	for opts.Limit <= 0 || sum.Replayed < opts.Limit {
		read, err := src.Read(ctx, passBatch)
		if err != nil {
			return sum, fmt.Errorf("dlq: read: %w", err)
		}
		es := read[:0:0]
		for _, e := range read {
			if e.MessageID != "" {
				if seen[e.MessageID] {
					continue
				}
				seen[e.MessageID] = true
			}
			es = append(es, e)
		}
		if len(es) == 0 {
			// Nothing, or nothing new: the pass has come round (after going round
			// what it kept, when holds may have lapsed).
			if stale++; len(read) == 0 || holder == nil || stale > len(kept)/max(len(read), 1)+1 {
				return sum, nil
			}
			continue
		}
		stale = 0
		for i, e := range es {
			if opts.Limit > 0 && sum.Replayed >= opts.Limit {
				return sum, nil
			}
			if !opts.Filter.Match(e) || !e.Replayable() {
				kept = append(kept, e)
				sum.Skipped++
				report()
				holdRest(es[i+1:])
				continue
			}
			if opts.DryRun {
				kept = append(kept, e)
				sum.Replayed++
				report()
				continue
			}
			if interval > 0 {
				// Wait in steps, keeping the entries still to be handled held.
				for wait := next.Sub(clock.Now()); wait > 0; wait = next.Sub(clock.Now()) {
					holdRest(es[i:])
					select {
					case <-ctx.Done():
						return sum, ctx.Err()
					case <-clock.After(min(wait, holdEvery)):
					}
				}
				next = clock.Now().Add(interval)
			}
			holdRest(es[i:])
			if err := ctx.Err(); err != nil {
				return sum, err
			}
			if err := replayOne(ctx, src, requeuer, canRequeue, sink, e, clock); err != nil {
				kept = append(kept, e)
				sum.fail(e, err)
				report()
				if opts.StopOnError {
					return sum, err
				}
				continue
			}
			sum.Replayed++
			report()
		}
	}
	return sum, nil
}

// holdStep is the longest time between two Holds of what a Replay read (apart
// from the time one entry takes); a HoldPacer may ask for less. A hold that
// lapses anyway costs Reads, not correctness (see stale in Replay).
const holdStep = 5 * time.Second

func replayOne(ctx context.Context, src Source, requeuer Requeuer, newID bool, sink storagefirst.Sink, e Entry, clock storagefirst.Clock) error {
	if sink == nil {
		if err := requeuer.Requeue(ctx, e); err != nil && !errors.Is(err, storagefirst.ErrNotFound) {
			return fmt.Errorf("requeue: %w", err)
		}
		return nil
	}
	env := asReplay(e, clock.Now(), newID)
	if err := sink.Put(ctx, env); err != nil {
		return fmt.Errorf("re-put: %w", err)
	}
	if err := src.Delete(ctx, e); err != nil {
		return fmt.Errorf("re-put, but not deleted from the dead letters (a re-run replays it again): %w", err)
	}
	return nil
}

// sinkIsSource reports whether sink is the queue whose dead letters src reads: the
// same value, or two handles equal by value (pgstore's and sqlitestore's Queue
// methods return a new handle on a queue at each call).
func sinkIsSource(src Source, sink storagefirst.Sink) bool {
	ds, ok := src.(*DeadLetterSource)
	if !ok || sink == nil || ds.dl == nil {
		return false
	}
	a, b := reflect.ValueOf(sink), reflect.ValueOf(ds.dl)
	if a.Type() != b.Type() || !a.Type().Comparable() {
		return false
	}
	if a.Equal(b) {
		return true
	}
	return a.Kind() == reflect.Pointer && !a.IsNil() && !b.IsNil() &&
		a.Elem().Type().Comparable() && a.Elem().Equal(b.Elem())
}
