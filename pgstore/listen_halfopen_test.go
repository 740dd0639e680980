package pgstore_test

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// freezingProxy forwards TCP connections to a server. freeze makes every
// connection open at the time silently drop what crosses it, both ways, without
// closing it: to the client, a half-open connection (a peer gone without a word,
// a network partition). Connections made later work, unless blackhole is set:
// then they are frozen from the start.
type freezingProxy struct {
	ln        net.Listener
	target    string
	blackhole atomic.Bool
	// swallowed counts the connection attempts (startup messages, not the cancel
	// requests pgx sends when it drops a connection) lost in the black hole.
	swallowed atomic.Int32
	mu        sync.Mutex
	conns     []*proxied
}

type proxied struct {
	p      *freezingProxy
	frozen atomic.Bool
	a, b   net.Conn
}

// startupCode is the protocol version of a startup message (3.0).
const startupCode = 3 << 16

func newFreezingProxy(t *testing.T, target string) *freezingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &freezingProxy{ln: ln, target: target}
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *freezingProxy) accept() {
	for {
		a, err := p.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			a.Close()
			continue
		}
		c := &proxied{p: p, a: a, b: b}
		c.frozen.Store(p.blackhole.Load())
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		go c.pipe(b, a, true)
		go c.pipe(a, b, false)
	}
}

func (c *proxied) pipe(dst, src net.Conn, fromClient bool) {
	buf := make([]byte, 32<<10)
	for first := fromClient; ; first = false {
		n, err := src.Read(buf)
		if first && n >= 8 && c.frozen.Load() && binary.BigEndian.Uint32(buf[4:8]) == startupCode {
			c.p.swallowed.Add(1)
		}
		if n > 0 && !c.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			_ = dst.Close()
			return
		}
	}
}

func (p *freezingProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.frozen.Store(true)
	}
}

func (p *freezingProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.a.Close()
		_ = c.b.Close()
	}
}

// listenThroughProxy starts a store whose listener connects through a
// freezingProxy, with ListenPingInterval 100 ms, and waits until the listener
// serves: it has woken for a Put. Puts go direct, through the returned queue. It
// returns an envelope not yet put, for the test's own Put.
func listenThroughProxy(t *testing.T) (ctx context.Context, proxy *freezingProxy, q *pgstore.Queue, wake <-chan struct{}, next storagefirst.Envelope) {
	t.Helper()
	b := setup(t)
	ctx = testCtx(t)
	u, err := url.Parse(b.url)
	require.NoError(t, err)
	proxy = newFreezingProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	s, err := pgstore.New(newPool(t, u.String()), pgstore.Config{Schema: b.schema, ListenPingInterval: 100 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	listened, err := s.Queue("q")
	require.NoError(t, err)
	q = b.queue(t, "q")
	in := newEnvs(t, 2)

	wake = listened.Wake(ctx)
	awaitWake(t, wake, time.Now().Add(10*time.Second), "the listener's first wake-up")
	require.NoError(t, q.Put(ctx, in[0]))
	awaitWake(t, wake, time.Now().Add(time.Second), "a Put on a live listener")
	return ctx, proxy, q, wake, in[1]
}

// TestListenerNoticesAHalfOpenConnection freezes the listener's connection: no
// error, no EOF, just silence. Notifications sent meanwhile are lost; the ping
// goes unanswered, the listener reconnects and wakes every subscriber, well
// before TCP keepalive would have said anything.
func TestListenerNoticesAHalfOpenConnection(t *testing.T) {
	t.Parallel()
	ctx, proxy, q, wake, next := listenThroughProxy(t)

	proxy.freeze()
	require.NoError(t, q.Put(ctx, next)) // its notification is lost in the frozen connection
	awaitWake(t, wake, time.Now().Add(2*time.Second), "the wake-up of a listener that noticed its dead connection")
}

// TestListenerReconnectsThroughAPartition freezes the listener's connection while
// new connections are black-holed too, so its first attempts to reconnect get no
// answer at all; once the network heals, the listener is back, because every
// attempt is bounded instead of hanging until the store closes.
func TestListenerReconnectsThroughAPartition(t *testing.T) {
	t.Parallel()
	ctx, proxy, q, wake, next := listenThroughProxy(t)

	proxy.blackhole.Store(true)
	proxy.freeze()
	require.NoError(t, q.Put(ctx, next))
	// The ping fails within 200 ms, then an attempt to reconnect runs into the
	// black hole. Once one has, heal the network.
	for proxy.swallowed.Load() == 0 {
		require.NoError(t, ctx.Err(), "no reconnection attempt")
		time.Sleep(5 * time.Millisecond) // poll interval, not synchronisation
	}
	proxy.blackhole.Store(false)
	awaitWake(t, wake, time.Now().Add(2*time.Second), "the wake-up of a listener back after the partition")
}
