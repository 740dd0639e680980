package dlq_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// hidingSource is a Source like an SQS queue: a Read hides what it returns for vis
// ticks (one tick per Read), and Hold, when honoured, hides it again.
type hidingSource struct {
	mu         sync.Mutex
	entries    []dlq.Entry
	hiddenTill map[string]int
	tick, vis  int
	ignoreHold bool
}

func newHidingSource(t *testing.T, n, vis int, ignoreHold bool) *hidingSource {
	s := &hidingSource{hiddenTill: map[string]int{}, vis: vis, ignoreHold: ignoreHold}
	for i := range n {
		env, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{}`))
		require.NoError(t, err)
		typ := "CreateOrder"
		if i == 0 {
			typ = "Other" // skipped by the filter
		}
		env.Type = typ
		s.entries = append(s.entries, dlq.Entry{Kind: dlq.KindStoragefirst, Envelope: env, MessageID: fmt.Sprintf("m-%02d", i)})
	}
	return s
}

func (s *hidingSource) Read(_ context.Context, n int) ([]dlq.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick++
	var out []dlq.Entry
	for _, e := range s.entries {
		if len(out) < n && s.hiddenTill[e.MessageID] <= s.tick {
			out = append(out, e)
			s.hiddenTill[e.MessageID] = s.tick + s.vis
		}
	}
	return out, nil
}

func (s *hidingSource) Delete(_ context.Context, e dlq.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.entries {
		if x.MessageID == e.MessageID {
			s.entries = append(s.entries[:i], s.entries[i+1:]...)
			break
		}
	}
	return nil
}

func (s *hidingSource) Purge(context.Context) (int64, error) { return 0, nil }

func (s *hidingSource) Hold(_ context.Context, es []dlq.Entry) error {
	if s.ignoreHold {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		s.hiddenTill[e.MessageID] = s.tick + s.vis
	}
	return nil
}

func (s *hidingSource) Release(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hiddenTill = map[string]int{}
	return nil
}

// TestReplayHoldsWhatItKeepsUntilThePassEnds: entries a pass skipped or failed
// to re-put stay held through the later reads, and an entry read again anyway
// (its hold lapsed) is not handled twice: each is counted once and re-put once.
func TestReplayHoldsWhatItKeepsUntilThePassEnds(t *testing.T) {
	t.Parallel()
	for _, ignoreHold := range []bool{false, true} {
		src := newHidingSource(t, 35, 2, ignoreHold)
		refused := src.entries[1].Envelope.ID
		puts := map[string]int{}
		sink := storagefirst.SinkFunc(func(_ context.Context, envs ...storagefirst.Envelope) error {
			for _, e := range envs {
				puts[dlq.OriginalID(e)]++
				if dlq.OriginalID(e) == refused {
					return storagefirst.Permanent(errors.New("refused"))
				}
			}
			return nil
		})
		sum, err := dlq.Replay(context.Background(), src, sink, dlq.ReplayOptions{Filter: dlq.Filter{Type: "CreateOrder"}})
		require.NoError(t, err, "ignoreHold=%v", ignoreHold)
		require.Equal(t, 33, sum.Replayed, "ignoreHold=%v", ignoreHold)
		require.Equal(t, 1, sum.Skipped, "ignoreHold=%v", ignoreHold)
		require.Equal(t, 1, sum.Failed, "ignoreHold=%v", ignoreHold)
		require.Len(t, puts, 34)
		for id, n := range puts {
			require.Equal(t, 1, n, "%s re-put %d times (ignoreHold=%v)", id, n, ignoreHold)
		}
		require.Len(t, src.entries, 2, "the skipped and the refused entry are kept")
	}
}

// countingHolder is a Source of n entries, every other one of a type the filter
// skips, that counts the entries passed to Hold.
type countingHolder struct {
	entries []dlq.Entry
	next    int
	held    int
}

func (s *countingHolder) Read(_ context.Context, n int) ([]dlq.Entry, error) {
	out := s.entries[s.next:min(s.next+n, len(s.entries))]
	s.next += len(out)
	return out, nil
}
func (s *countingHolder) Delete(context.Context, dlq.Entry) error { return nil }
func (s *countingHolder) Purge(context.Context) (int64, error)    { return 0, nil }
func (s *countingHolder) Release(context.Context) error           { return nil }
func (s *countingHolder) Hold(_ context.Context, es []dlq.Entry) error {
	s.held += len(es)
	return nil
}

// TestReplayHoldsInTimeNotPerEntry: a pass with many skipped entries does not
// hold everything it kept again before each entry it replays (4000 entries,
// half skipped: 2,000,000 entries held before); it holds at most once per hold
// step.
func TestReplayHoldsInTimeNotPerEntry(t *testing.T) {
	t.Parallel()
	const n = 4000
	src := &countingHolder{}
	for i := range n {
		env, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{}`))
		require.NoError(t, err)
		if i%2 == 0 {
			env.Type = "Other"
		}
		src.entries = append(src.entries, dlq.Entry{Kind: dlq.KindStoragefirst, Envelope: env, MessageID: fmt.Sprintf("m-%d", i)})
	}
	sink := storagefirst.SinkFunc(func(context.Context, ...storagefirst.Envelope) error { return nil })
	sum, err := dlq.Replay(context.Background(), src, sink, dlq.ReplayOptions{Filter: dlq.Filter{Type: "CreateOrder"}})
	require.NoError(t, err)
	require.Equal(t, n/2, sum.Replayed)
	require.Equal(t, n/2, sum.Skipped)
	// One hold per 5 s of the pass (which takes well under a second): at most
	// what was read, per hold; 3n leaves room for a very slow machine.
	require.LessOrEqual(t, src.held, 3*n, "entries held")
}

// TestReplayGoesRoundLapsedHolds: kept entries whose hold lapsed (here holds are
// ignored, or too rare for the source's short visibility) come back first and
// fill the Reads; the pass reads on past them, and replays every entry it has
// not seen, rather than taking "nothing new" for its end.
func TestReplayGoesRoundLapsedHolds(t *testing.T) {
	t.Parallel()
	for _, ignoreHold := range []bool{false, true} {
		src := newHidingSource(t, 50, 3, ignoreHold)
		for i := range 10 {
			src.entries[i].Envelope.Type = "Other" // skipped, kept
		}
		sink := storagefirst.SinkFunc(func(context.Context, ...storagefirst.Envelope) error { return nil })
		sum, err := dlq.Replay(context.Background(), src, sink, dlq.ReplayOptions{Filter: dlq.Filter{Type: "CreateOrder"}})
		require.NoError(t, err)
		require.Equal(t, 40, sum.Replayed, "ignoreHold=%v", ignoreHold)
		require.Equal(t, 10, sum.Skipped, "ignoreHold=%v", ignoreHold)
		require.Len(t, src.entries, 10, "the skipped entries are kept")
	}
}
