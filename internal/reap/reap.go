// Package reap runs a store's Reap on an interval: the loop behind pgstore's and
// sqlitestore's IdempotencyStore.RunReaper, written once.
//
// It sits in internal/ as machinery the stores share; it imports only the
// standard library.
package reap

import (
	"context"
	"time"
)

// Run calls reap every interval until ctx ends. A call that deleted limit
// records (a full batch: more may be due) is followed at once by another, so a
// backlog drains in bounded steps instead of one step per interval. Failures are
// given to onErr (unless ctx has ended) and retried at the next interval.
func Run(ctx context.Context, interval time.Duration, limit int, reap func(ctx context.Context) (int64, error), onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := reap(ctx)
			if err != nil {
				if ctx.Err() == nil {
					onErr(err)
				}
				break
			}
			if n < int64(limit) {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
