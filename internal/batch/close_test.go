package batch_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/batch"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestStopAnswersEveryCall stops a Batcher while one batch is executing, the next
// one is formed and waiting for a slot, and a call that did not fit it is pending:
// every call is answered (the queued ones with ErrClosed), the running batch
// finishes with its result, and Wait returns.
func TestStopAnswersEveryCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, stop := context.WithCancel(context.Background())
		release := make(chan struct{})
		var calls [][]int
		b := batch.New(ctx, batch.Config{MaxBatch: 2, Concurrency: 1, MaxWait: time.Hour},
			func(ctx context.Context, items []int) ([]int, error) {
				calls = append(calls, items)
				<-release
				return items, ctx.Err()
			})
		type answer struct {
			res []int
			err error
		}
		do := func(items ...int) <-chan answer {
			ch := make(chan answer, 1)
			go func() { res, err := b.Do(context.Background(), items); ch <- answer{res, err} }()
			synctest.Wait() // the call is executing or with the loop
			return ch
		}
		running := do(1)    // takes the only slot (fast path) and blocks in exec
		formed := do(2)     // starts the next batch, which lingers for company
		pending := do(3, 4) // does not fit that batch: pending
		require.Equal(t, [][]int{{1}}, calls, "only the first call executes")
		stop()
		synctest.Wait()
		select {
		case a := <-formed:
			require.ErrorIs(t, a.err, storagefirst.ErrClosed)
		default:
			t.Fatal("the call of the formed batch was not answered")
		}
		select {
		case a := <-pending:
			require.ErrorIs(t, a.err, storagefirst.ErrClosed)
		default:
			t.Fatal("the pending call was not answered")
		}
		waited := make(chan struct{})
		go func() { b.Wait(); close(waited) }()
		synctest.Wait()
		select {
		case <-waited:
			t.Fatal("Wait returned while an execution was running")
		default:
		}
		close(release)
		a := <-running
		require.NoError(t, a.err)
		require.Equal(t, []int{1}, a.res)
		<-waited
		_, err := b.Do(context.Background(), []int{5})
		require.ErrorIs(t, err, storagefirst.ErrClosed)
		require.Equal(t, [][]int{{1}}, calls, "nothing executes after the stop")
	})
}

// TestAStartedBatchFinishesOnStop: a batch the loop has started is not cancelled
// by the stop; its callers get its result.
func TestAStartedBatchFinishesOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, stop := context.WithCancel(context.Background())
		gates := map[int]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})}
		b := batch.New(ctx, batch.Config{MaxBatch: 10, Concurrency: 1},
			func(ctx context.Context, items []int) ([]int, error) {
				<-gates[items[0]]
				return items, ctx.Err()
			})
		ch1, ch2 := make(chan error, 1), make(chan error, 1)
		go func() { _, err := b.Do(context.Background(), []int{1}); ch1 <- err }()
		synctest.Wait()
		go func() { _, err := b.Do(context.Background(), []int{2}); ch2 <- err }()
		synctest.Wait() // {2} waits with the loop for the slot
		close(gates[1])
		require.NoError(t, <-ch1)
		synctest.Wait() // the loop has started {2}, which blocks in exec
		stop()
		synctest.Wait()
		close(gates[2])
		require.NoError(t, <-ch2, "a started batch is not cancelled by the stop")
		b.Wait()
	})
}
