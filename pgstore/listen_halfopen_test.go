package pgstore_test

import (
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
)

// freezingProxy forwards TCP connections to a server. freeze makes every
// connection open at the time silently drop what crosses it, both ways, without
// closing it: to the client, a half-open connection (a peer gone without a word,
// a network partition). Connections made later work.
type freezingProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []*proxied
}

type proxied struct {
	frozen atomic.Bool
	a, b   net.Conn
}

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
		c := &proxied{a: a, b: b}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		go c.pipe(a, b)
		go c.pipe(b, a)
	}
}

func (c *proxied) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
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

// TestListenerNoticesAHalfOpenConnection freezes the listener's connection: no
// error, no EOF, just silence. Notifications sent meanwhile are lost; the ping
// goes unanswered, the listener reconnects and wakes every subscriber, well
// before TCP keepalive would have said anything.
func TestListenerNoticesAHalfOpenConnection(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testCtx(t)
	u, err := url.Parse(b.url)
	require.NoError(t, err)
	proxy := newFreezingProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()

	// The store whose listener goes through the proxy; Puts go direct.
	s, err := pgstore.New(newPool(t, u.String()), pgstore.Config{Schema: b.schema, ListenPingInterval: 100 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	listened, err := s.Queue("q")
	require.NoError(t, err)
	q := b.queue(t, "q")
	in := newEnvs(t, 2)

	wake := listened.Wake(ctx)
	awaitWake(t, wake, time.Now().Add(10*time.Second), "the listener's first wake-up")
	require.NoError(t, q.Put(ctx, in[0]))
	awaitWake(t, wake, time.Now().Add(time.Second), "a Put on a live listener")

	proxy.freeze()
	require.NoError(t, q.Put(ctx, in[1])) // its notification is lost in the frozen connection
	awaitWake(t, wake, time.Now().Add(2*time.Second), "the wake-up of a listener that noticed its dead connection")
}
