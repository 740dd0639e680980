package dlq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Source reads dead letters back.
//
// Read returns the next entries of a pass over the source, at most max, and none
// once the pass is over. Delete removes an entry for good; deleting one that is
// already gone is not an error. Purge removes every entry and says how many.
type Source interface {
	Read(ctx context.Context, max int) ([]Entry, error)
	Delete(ctx context.Context, e Entry) error
	Purge(ctx context.Context) (int64, error)
}

// Holder is a Source whose Read holds what it returns from other readers (an SQS
// queue hides received messages): Replay calls Hold on what it has read and not
// deleted every 5 seconds, or as often as a HoldPacer asks, so that a slow pass
// keeps it, and List and Replay call Release when they finish, so that what was
// read and not deleted is visible again at once.
type Holder interface {
	Hold(ctx context.Context, es []Entry) error
	Release(ctx context.Context) error
}

// HoldPacer is a Holder whose holds last so little that Replay must renew them
// more often than every 5 seconds: HoldInterval is the longest time between two
// Holds that keeps what was read held.
type HoldPacer interface {
	HoldInterval() time.Duration
}

// release releases src's holds, if it has any, even when ctx has ended.
func release(ctx context.Context, src Source) error {
	h, ok := src.(Holder)
	if !ok {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	return h.Release(rctx)
}

// releaseTimeout bounds a Release.
const releaseTimeout = 30 * time.Second

// Requeuer is a Source that can put an entry back where it failed in one step (a
// store's own dead letters): Replay with no Sink uses it.
type Requeuer interface {
	Requeue(ctx context.Context, e Entry) error
}

// FromDeadLetters returns a Source over a store's dead letters (a pgstore.Queue,
// an sftest.MemoryQueue). Each call starts a new pass. It is also a Requeuer.
func FromDeadLetters(dl storagefirst.DeadLetters) *DeadLetterSource {
	return &DeadLetterSource{dl: dl}
}

// DeadLetterSource is the Source of FromDeadLetters.
type DeadLetterSource struct {
	dl    storagefirst.DeadLetters
	after string
}

var (
	_ Source   = (*DeadLetterSource)(nil)
	_ Requeuer = (*DeadLetterSource)(nil)
)

// Read returns the next dead letters in ID order.
func (s *DeadLetterSource) Read(ctx context.Context, max int) ([]Entry, error) {
	dls, err := s.dl.ListDead(ctx, storagefirst.DeadLetterFilter{AfterID: s.after, Limit: max})
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(dls))
	for i, d := range dls {
		out[i] = Entry{Kind: KindStoragefirst, Envelope: d.Envelope, Failures: d.Failures, DeadAt: d.DeadAt,
			Handle: d.Envelope.ID, Attributes: map[string]string{}}
		s.after = d.Envelope.ID
	}
	return out, nil
}

// Delete removes the dead letter.
func (s *DeadLetterSource) Delete(ctx context.Context, e Entry) error {
	if err := s.dl.DeleteDead(ctx, e.Handle); err != nil && !errors.Is(err, storagefirst.ErrNotFound) {
		return err
	}
	return nil
}

// Requeue puts the dead letter back in its queue, marked as a replay.
func (s *DeadLetterSource) Requeue(ctx context.Context, e Entry) error {
	return s.dl.Requeue(ctx, e.Handle)
}

// Purge deletes every dead letter.
func (s *DeadLetterSource) Purge(ctx context.Context) (int64, error) {
	var n int64
	for {
		dls, err := s.dl.ListDead(ctx, storagefirst.DeadLetterFilter{Limit: 500})
		if err != nil {
			return n, err
		}
		if len(dls) == 0 {
			return n, nil
		}
		for _, d := range dls {
			if err := s.dl.DeleteDead(ctx, d.Envelope.ID); err != nil && !errors.Is(err, storagefirst.ErrNotFound) {
				return n, fmt.Errorf("dlq: purge %s: %w", d.Envelope.ID, err)
			}
			n++
		}
	}
}
