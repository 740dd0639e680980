package main

import (
	"context"
)

// bareBatcher inserts bare payload rows with the same natural batching as pgstore's
// group commit (whatever queued while the last batch ran), for the WAL baseline.
type bareBatcher struct {
	h    *harness
	in   chan bareCall
	quit chan struct{}
}

type bareCall struct {
	payload string
	done    chan error
}

func newBareBatcher(h *harness) *bareBatcher {
	b := &bareBatcher{h: h, in: make(chan bareCall), quit: make(chan struct{})}
	go b.loop()
	return b
}

func (b *bareBatcher) put(ctx context.Context, payload string) error {
	c := bareCall{payload: payload, done: make(chan error, 1)}
	b.in <- c
	return <-c.done
}

func (b *bareBatcher) stop() { close(b.quit) }

func (b *bareBatcher) loop() {
	sql := "INSERT INTO " + b.h.schema + ".bare SELECT * FROM unnest($1::json[])"
	for {
		var calls []bareCall
		select {
		case c := <-b.in:
			calls = append(calls, c)
		case <-b.quit:
			return
		}
	more:
		for len(calls) < 1000 {
			select {
			case c := <-b.in:
				calls = append(calls, c)
			default:
				break more
			}
		}
		payloads := make([]string, len(calls))
		for i, c := range calls {
			payloads[i] = c.payload
		}
		_, err := b.h.pool.Exec(context.Background(), sql, payloads)
		for _, c := range calls {
			c.done <- err
		}
	}
}
