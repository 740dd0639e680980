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
type notifier struct {
	s       *Store
	mu      sync.Mutex
	pending map[string]struct{}
	kick    chan struct{}
	done    chan struct{}
}

func newNotifier(s *Store) *notifier {
	n := &notifier{s: s, pending: map[string]struct{}{}, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go n.run()
	return n
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
		if _, err := n.s.pool.Exec(sctx, n.s.q.notify, n.s.channel(), queues); err != nil && ctx.Err() == nil {
			n.s.cfg.Logger.WarnContext(ctx, "pgstore: waking consumers failed; they poll", "error", err)
		}
		cancel()
	}
}

func (n *notifier) wait() { <-n.done }
