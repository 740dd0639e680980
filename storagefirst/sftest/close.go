package sftest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// CheckCloseDuringPuts runs concurrent Puts of one to three envelopes each (no
// deadline on any) into sink, calls closeSink once acked envelopes have been
// stored, and checks that closeSink and every Put return: closeSink with nil, each
// Put with nil or an error wrapping storagefirst.ErrClosed. It returns the IDs of the envelopes Put
// acknowledged; the caller checks, on a store opened afresh, that every one of them
// is stored.
func CheckCloseDuringPuts(t *testing.T, sink storagefirst.Sink, closeSink func() error, acked int) []string {
	t.Helper()
	const writers = 16
	var (
		mu      sync.Mutex
		ids     []string
		errs    []error
		stored  atomic.Int64
		started = make(chan struct{})
		enough  = make(chan struct{})
		once    sync.Once
		wg      sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-started
			for i := 0; ; i++ {
				batch := make([]storagefirst.Envelope, 1+(w+i)%3)
				for j := range batch {
					e, err := storagefirst.NewEnvelope("test.close", fmt.Appendf(nil, `{"w":%d,"i":%d}`, w, i))
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
					batch[j] = e
				}
				err := sink.Put(context.Background(), batch...)
				mu.Lock()
				if err == nil {
					for _, e := range batch {
						ids = append(ids, e.ID)
					}
				} else if !errors.Is(err, storagefirst.ErrClosed) {
					errs = append(errs, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
				if stored.Add(int64(len(batch))) >= int64(acked) {
					once.Do(func() { close(enough) })
				}
			}
		}()
	}
	close(started)
	deadline := time.NewTimer(suiteTimeout)
	defer deadline.Stop()
	select {
	case <-enough:
	case <-deadline.C:
		t.Fatal("the writers did not store enough envelopes before the deadline")
	}
	closed := make(chan struct{})
	var closeErr error
	go func() { closeErr = closeSink(); close(closed) }()
	returned := make(chan struct{})
	go func() { wg.Wait(); close(returned) }()
	for _, ch := range []chan struct{}{closed, returned} {
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatal("Close or a Put did not return: a call was never answered")
		}
	}
	require.NoError(t, closeErr, "Close")
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, errs, "every Put returns nil or ErrClosed")
	return ids
}
