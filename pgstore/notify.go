package pgstore

import (
	"context"
	"sync"
	"time"
)

// notifyTimeout bounds one NOTIFY sent after a group commit.
const notifyTimeout = 5 * time.Second

// notifier wakes the consumers of queues that a group commit of Put stored
// envelopes into: at once those of this Store (in process), and those of other
// processes through a NOTIFY sent after the commit, in a transaction of its own.
//
// The NOTIFY is kept out of the group commit's transaction on purpose: Postgres
// serialises the commits of transactions that notify (they hold a database-wide
// lock from before their commit record is flushed until they end), which would
// leave one group commit flushing at a time however many run. Sent afterwards,
// coalesced (one statement for whatever queues piled up while the last one ran)
// and with synchronous_commit off, it holds that lock for no flush. A wake-up is
// best effort either way: consumers poll too.
//
// This Store's own consumers, woken in process already, skip the echo of its
// NOTIFY (own counts what it sent, by backend and queue), so that a Put does not
// make them claim twice.
type notifier struct {
	s       *Store
	mu      sync.Mutex
	pending map[string]struct{}
	kick    chan struct{}
	done    chan struct{}

	ownMu sync.Mutex
	own   map[ownNotification]int
}

// ownNotification is a notification this Store sent: the backend it came from and
// its payload (the queue).
type ownNotification struct {
	pid   uint32
	queue string
}

// ownLimit bounds the echoes remembered; past it they are forgotten (a consumer
// then claims once more, harmlessly).
const ownLimit = 10000

func newNotifier(s *Store) *notifier {
	n := &notifier{s: s, pending: map[string]struct{}{}, kick: make(chan struct{}, 1), done: make(chan struct{}),
		own: map[ownNotification]int{}}
	go n.run()
	return n
}

// echo reports whether a notification from backend pid for queue is the echo of
// one this Store sent (and forgets it).
func (n *notifier) echo(pid uint32, queue string) bool {
	k := ownNotification{pid, queue}
	n.ownMu.Lock()
	defer n.ownMu.Unlock()
	c := n.own[k]
	if c == 0 {
		return false
	}
	if c == 1 {
		delete(n.own, k)
	} else {
		n.own[k] = c - 1
	}
	return true
}

// send sends one NOTIFY per queue from a connection of the pool, remembering them
// as this Store's own.
func (n *notifier) send(ctx context.Context, queues []string) error {
	conn, err := n.s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	pid := conn.Conn().PgConn().PID()
	n.ownMu.Lock()
	if len(n.own) > ownLimit {
		clear(n.own)
	}
	for _, q := range queues {
		n.own[ownNotification{pid, q}]++
	}
	n.ownMu.Unlock()
	if _, err := conn.Exec(ctx, n.s.q.notify, n.s.channel(), queues); err != nil {
		for _, q := range queues {
			n.echo(pid, q) // not sent (or not known to be): forget them
		}
		return err
	}
	return nil
}

// committed is called after a group commit stored envelopes into queues.
func (n *notifier) committed(queues []string) {
	if n.s.cfg.Pooled || len(queues) == 0 {
		return
	}
	n.s.mu.Lock()
	l := n.s.listener
	n.s.mu.Unlock()
	if l != nil {
		for _, q := range queues {
			l.hub.Notify(q)
		}
	}
	n.mu.Lock()
	for _, q := range queues {
		n.pending[q] = struct{}{}
	}
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// run sends the pending notifications until the store closes.
func (n *notifier) run() {
	defer close(n.done)
	ctx := n.s.ctx
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		n.mu.Lock()
		queues := make([]string, 0, len(n.pending))
		for q := range n.pending {
			queues = append(queues, q)
		}
		clear(n.pending)
		n.mu.Unlock()
		if len(queues) == 0 {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, notifyTimeout)
		if err := n.send(sctx, queues); err != nil && ctx.Err() == nil {
			n.s.cfg.Logger.WarnContext(ctx, "pgstore: waking consumers failed; they poll", "error", err)
		}
		cancel()
	}
}

func (n *notifier) wait() { <-n.done }
