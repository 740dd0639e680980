package pgstore

import (
	"context"
	"fmt"
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

// Backoff of the listener's reconnections.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 10 * time.Second
)

// run listens until the store closes, reconnecting with a bounded backoff that
// starts again from its minimum after every healthy session, so that a listener
// that served for hours is back within listenBackoffMin of its next loss.
func (l *listener) run() {
	defer close(l.done)
	ctx := l.s.ctx
	wait := listenBackoffMin
	for ctx.Err() == nil {
		healthy, err := l.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if healthy {
			wait = listenBackoffMin
		}
		l.s.cfg.Logger.WarnContext(ctx, "pgstore: listener lost its connection; consumers poll until it is back",
			"error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, listenBackoffMax)
	}
}

// listenerAppName is the application_name of the listening session (what
// pg_stat_activity shows), at most 63 bytes as Postgres keeps it.
func (s *Store) listenerAppName() string {
	n := "storagefirst listen " + s.channel()
	if len(n) > 63 {
		n = n[:63]
	}
	return n
}

// listenOnce holds one LISTEN session until it fails. Connecting and starting to
// listen are bounded by ListenPingInterval. While no notification comes it pings
// the server every ListenPingInterval, each ping bounded by the same interval, so
// a connection that died without a word (a half-open TCP connection, a failover)
// is noticed within two intervals instead of when TCP keepalive gives up. healthy
// says the session served: a notification arrived or a ping was answered.
func (l *listener) listenOnce(ctx context.Context) (healthy bool, err error) {
	every := l.s.cfg.ListenPingInterval
	// Setting up is bounded like a ping: a connection attempt into a network that
	// swallows packets must not hang the listener until the store closes.
	sctx, cancel := context.WithTimeout(ctx, every)
	defer cancel()
	conn, err := l.s.pool.Acquire(sctx)
	if err != nil {
		return false, err
	}
	// The connection leaves the pool: LISTEN is session state.
	pc := conn.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = pc.Close(cctx)
	}()
	if _, err := pc.Exec(sctx, "SELECT set_config('application_name', $1, false)", l.s.listenerAppName()); err != nil {
		return false, err
	}
	if _, err := pc.Exec(sctx, "LISTEN "+pgx.Identifier{l.s.channel()}.Sanitize()); err != nil {
		return false, err
	}
	l.hub.NotifyAll() // anything put while we were not listening
	for {
		wctx, cancel := context.WithTimeout(ctx, every)
		n, err := pc.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			healthy = true
			if q, own := l.s.wakes.parse(n.Payload); !own { // this Store's own consumers are awake already
				l.hub.Notify(q)
			}
			continue
		case ctx.Err() != nil:
			return healthy, ctx.Err()
		case wctx.Err() == nil || pc.IsClosed():
			return healthy, err
		}
		// Quiet for a whole interval: is anyone still there?
		pctx, cancel := context.WithTimeout(ctx, every)
		err = pc.Ping(pctx)
		cancel()
		if err != nil {
			return healthy, fmt.Errorf("pgstore: listener ping: %w", err)
		}
		healthy = true
	}
}
