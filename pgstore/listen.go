package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storagefirst/storagefirst-go/internal/wake"
)

// channel is the NOTIFY channel of the store's schema.
func (s *Store) channel() string {
	c := s.cfg.Schema + "_wake"
	if len(c) > 63 {
		c = c[:63]
	}
	return c
}

// Wake returns a channel that receives when envelopes are put into (or requeued in)
// this queue, from any process, through LISTEN/NOTIFY on one connection shared by
// the store. The channel is closed when ctx ends. In Pooled mode nothing is sent:
// consumers poll. After the listening connection is lost and regained, every
// subscriber is woken once, since notifications may have been missed.
func (q *Queue) Wake(ctx context.Context) <-chan struct{} {
	if q.s.cfg.Pooled {
		out := make(chan struct{})
		go func() { <-ctx.Done(); close(out) }()
		return out
	}
	return q.s.startListener().hub.Subscribe(ctx, q.name)
}

// listener holds one connection in LISTEN and fans notifications out by queue.
type listener struct {
	s    *Store
	hub  wake.Hub
	done chan struct{}
}

func (s *Store) startListener() *listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		s.listener = &listener{s: s, done: make(chan struct{})}
		go s.listener.run()
	}
	return s.listener
}

func (l *listener) wait() { <-l.done }

// run listens until the store closes, reconnecting with a bounded backoff.
func (l *listener) run() {
	defer close(l.done)
	ctx := l.s.ctx
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		l.s.cfg.Logger.WarnContext(ctx, "pgstore: listener lost its connection; consumers poll until it is back",
			"error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}

func (l *listener) listenOnce(ctx context.Context) error {
	conn, err := l.s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection leaves the pool: LISTEN is session state.
	pc := conn.Hijack()
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, "LISTEN "+pgx.Identifier{l.s.channel()}.Sanitize()); err != nil {
		return err
	}
	l.hub.NotifyAll() // anything put while we were not listening
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.hub.Notify(n.Payload)
	}
}
