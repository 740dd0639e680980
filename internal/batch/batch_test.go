package batch_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/batch"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestEveryCallerGetsItsOwnResults(t *testing.T) {
	t.Parallel()
	var running, peak atomic.Int32
	b := batch.New(t.Context(), batch.Config{MaxBatch: 10, Concurrency: 2, MaxWait: time.Millisecond},
		func(_ context.Context, items []int) ([]int, error) {
			r := running.Add(1)
			defer running.Add(-1)
			for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
			}
			time.Sleep(2 * time.Millisecond) // stands for the I/O a batch saves
			out := make([]int, len(items))
			for i, v := range items {
				out[i] = v * 10
			}
			return out, nil
		})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := b.Do(context.Background(), []int{i, i + 1})
			require.NoError(t, err)
			require.Equal(t, []int{i * 10, (i + 1) * 10}, res)
		}()
	}
	close(start)
	wg.Wait()
	execs, items := b.Stats()
	require.Equal(t, int64(200), items)
	require.Less(t, execs, int64(100))
	require.LessOrEqual(t, peak.Load(), int32(2))
}

func TestAFailedExecutionFailsEveryCallerInIt(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	release := make(chan struct{})
	b := batch.New(t.Context(), batch.Config{MaxBatch: 100, Concurrency: 1},
		func(_ context.Context, items []int) ([]int, error) {
			<-release
			return nil, boom
		})
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.Do(context.Background(), []int{1}); errors.Is(err, boom) {
				failed.Add(1)
			}
		}()
	}
	close(release)
	wg.Wait()
	require.Equal(t, int32(20), failed.Load())
}

func TestCallerContextAndClose(t *testing.T) {
	t.Parallel()
	ctx, stop := context.WithCancel(context.Background())
	started := make(chan struct{})
	release := make(chan struct{})
	b := batch.New(ctx, batch.Config{MaxBatch: 1, Concurrency: 1},
		func(_ context.Context, items []int) ([]int, error) {
			close(started)
			<-release
			return items, nil
		})
	go func() { _, _ = b.Do(context.Background(), []int{1}) }()
	<-started
	cctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := b.Do(cctx, []int{2}); done <- err }()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	stop()
	_, err := b.Do(context.Background(), []int{3})
	require.ErrorIs(t, err, storagefirst.ErrClosed)
	close(release)
	b.Wait()
}
