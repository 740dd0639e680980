package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
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
// NOTIFY: its payload is the queue behind a tag naming this Store (tagPrefix, a
// random nonce, tagPrefix), which the listener recognises (own). A NOTIFY of
// anyone else (PutTx, another process, another Store) is never taken for an echo,
// whoever sent it on whichever backend, and nothing is remembered between them.
type notifier struct {
	s       *Store
	mu      sync.Mutex
	pending map[string]struct{}
	kick    chan struct{}
	done    chan struct{}

	tag  string       // tagPrefix + nonce + tagPrefix
	sent atomic.Int64 // notifications sent
}

// tagPrefix brackets the nonce that tags a group commit's NOTIFY payload.
const tagPrefix = "\x1f"

// nonceLen is the length of a tag's nonce: 16 hex digits.
const nonceLen = 16

func newNotifier(s *Store) *notifier {
	var b [nonceLen / 2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	n := &notifier{s: s, pending: map[string]struct{}{}, kick: make(chan struct{}, 1), done: make(chan struct{}),
		tag: tagPrefix + hex.EncodeToString(b[:]) + tagPrefix}
	go n.run()
	return n
}

// parse returns the queue a notification's payload wakes, and whether this Store
// sent it (an echo: its own consumers are awake already). A payload without a
// tag (PutTx's) is the queue itself.
func (n *notifier) parse(payload string) (queue string, own bool) {
	const tagLen = 2*len(tagPrefix) + nonceLen
	if len(payload) < tagLen || !strings.HasPrefix(payload, tagPrefix) || payload[tagLen-len(tagPrefix):tagLen] != tagPrefix {
		return payload, false
	}
	return payload[tagLen:], payload[:tagLen] == n.tag
}

// send sends one NOTIFY per queue, tagged as this Store's.
func (n *notifier) send(ctx context.Context, queues []string) error {
	payloads := make([]string, len(queues))
	for i, q := range queues {
		payloads[i] = n.tag + q
	}
	if _, err := n.s.pool.Exec(ctx, n.s.q.notify, n.s.channel(), payloads); err != nil {
		return err
	}
	n.sent.Add(int64(len(queues)))
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
