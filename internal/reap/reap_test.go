package reap_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/reap"
)

func TestRunDrainsFullBatchesThenWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		backlog := []int64{10, 10, 3, 0, 10, 1} // what each call deletes
		var calls []time.Duration
		start := time.Now()
		var errs []error
		var mu sync.Mutex
		snapshot := func() ([]time.Duration, int) {
			mu.Lock()
			defer mu.Unlock()
			return append([]time.Duration(nil), calls...), len(errs)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			reap.Run(ctx, time.Minute, 10, func(context.Context) (int64, error) {
				mu.Lock()
				defer mu.Unlock()
				calls = append(calls, time.Since(start))
				if len(calls) > len(backlog) {
					return 0, errors.New("boom")
				}
				return backlog[len(calls)-1], nil
			}, func(err error) {
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
			})
		}()
		synctest.Wait()
		got, _ := snapshot()
		require.Equal(t, []time.Duration{0, 0, 0}, got, "full batches are followed at once")
		time.Sleep(time.Minute) // fake time: the next tick
		synctest.Wait()
		got, _ = snapshot()
		require.Equal(t, []time.Duration{0, 0, 0, time.Minute}, got)
		time.Sleep(time.Minute)
		synctest.Wait()
		got, _ = snapshot()
		require.Len(t, got, 6)
		time.Sleep(time.Minute)
		synctest.Wait()
		_, nerr := snapshot()
		require.Equal(t, 1, nerr, "a failure is reported and retried at the next tick")
		cancel()
		<-done
	})
}
