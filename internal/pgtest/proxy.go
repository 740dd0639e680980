package pgtest

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"slices"
	"sync"
	"testing"
)

// Proxy relays TCP connections to the test server and can cut them the way a
// crashing network or server does: at a chosen message from the client, before
// the server sees it or once the server has acted on it, or all at once (an
// outage). Give the URL it returns to the pool under test.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[*proxyConn]struct{}
	cut   *Cut
}

// Cut is one armed cut: it fires at the first client message that Match accepts.
type Cut struct {
	// Match inspects a client message: its type byte and its body (for a simple
	// query 'Q' or a parse 'P', the SQL text is in the body).
	Match func(typ byte, body []byte) bool
	// After, if set, restricts the cut to connections that sent a message it
	// accepts before (say, the INSERT of the transaction whose COMMIT to cut).
	After func(typ byte, body []byte) bool
	// AfterServer lets the message (and, in the extended protocol, the rest of its
	// round trip up to Sync) through, waits until the server answers, and cuts the
	// connection without relaying the answer: the server did the work, the client
	// cannot know. Otherwise the connection is cut before the server sees it.
	AfterServer bool
	// Outage takes the proxy down when the cut happens (see SetDown): every
	// connection is cut and new ones are refused until SetDown(false).
	Outage bool
	// Done is closed when the cut has happened.
	Done chan struct{}
}

type proxyConn struct {
	client, server net.Conn
	once           sync.Once
	swallow        chan struct{} // closed: the server's next answer is not relayed
	swallowOnce    sync.Once
	cut            *Cut
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		_ = c.client.Close()
		_ = c.server.Close()
	})
}

// NewProxy starts a proxy to the server at dbURL and returns it with the URL that
// goes through it. It stops when the test ends.
func NewProxy(t testing.TB, dbURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("pgtest: proxy: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: u.Host, conns: map[*proxyConn]struct{}{}}
	if u.Port() == "" {
		p.target = net.JoinHostPort(u.Hostname(), "5432")
	}
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.SetDown(true)
	})
	u.Host = ln.Addr().String()
	return p, u.String()
}

// Arm arms c (replacing any armed cut) and returns it.
func (p *Proxy) Arm(c *Cut) *Cut {
	if c.Done == nil {
		c.Done = make(chan struct{})
	}
	p.mu.Lock()
	p.cut = c
	p.mu.Unlock()
	return c
}

// SetDown(true) cuts every connection and refuses new ones, as a server that went
// away; SetDown(false) lets connections through again.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	var open []*proxyConn
	if down {
		for c := range p.conns {
			open = append(open, c)
		}
	}
	p.mu.Unlock()
	for _, c := range open {
		c.close()
	}
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		c := &proxyConn{client: client, server: server, swallow: make(chan struct{})}
		p.mu.Lock()
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		go p.toServer(c)
		go p.toClient(c)
	}
}

func (p *Proxy) forget(c *proxyConn) {
	c.close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// toClient relays the server's bytes, unless a cut asked to swallow its answer.
func (p *Proxy) toClient(c *proxyConn) {
	defer p.forget(c)
	buf := make([]byte, 32<<10)
	for {
		n, err := c.server.Read(buf)
		if n > 0 {
			select {
			case <-c.swallow:
				if c.cut.Outage {
					p.SetDown(true)
				}
				close(c.cut.Done)
				return
			default:
			}
			if _, werr := c.client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// toServer relays the client's messages one at a time, watching for the armed cut.
func (p *Proxy) toServer(c *proxyConn) {
	defer p.forget(c)
	// Startup: untyped messages (SSL or GSS requests, then the startup message).
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(c.client, hdr[:]); err != nil {
			return
		}
		body := make([]byte, max(int(binary.BigEndian.Uint32(hdr[:]))-4, 0))
		if _, err := io.ReadFull(c.client, body); err != nil {
			return
		}
		if _, err := c.server.Write(append(hdr[:], body...)); err != nil {
			return
		}
		if len(body) < 4 {
			return
		}
		code := binary.BigEndian.Uint32(body[:4])
		if code != 80877103 && code != 80877104 { // not SSLRequest or GSSENCRequest
			break
		}
	}
	passing := false // an AfterServer cut lets its round trip through up to Sync
	var seen []*Cut  // cuts whose After this connection has satisfied
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(c.client, hdr[:]); err != nil {
			return
		}
		body := make([]byte, max(int(binary.BigEndian.Uint32(hdr[1:]))-4, 0))
		if _, err := io.ReadFull(c.client, body); err != nil {
			return
		}
		typ := hdr[0]
		if !passing {
			p.mu.Lock()
			cut := p.cut
			switch {
			case cut == nil:
			case cut.After != nil && !slices.Contains(seen, cut):
				if cut.After(typ, body) {
					seen = append(seen, cut)
				}
				cut = nil
			case cut.Match(typ, body):
				p.cut = nil
			default:
				cut = nil
			}
			p.mu.Unlock()
			if cut != nil {
				if !cut.AfterServer {
					if cut.Outage {
						p.SetDown(true)
					}
					close(cut.Done)
					return
				}
				c.cut = cut
				passing = typ != 'Q'
				if !passing {
					c.swallowOnce.Do(func() { close(c.swallow) })
				}
			}
		} else if typ == 'S' {
			passing = false
			c.swallowOnce.Do(func() { close(c.swallow) })
		}
		if _, err := c.server.Write(append(hdr[:], body...)); err != nil {
			return
		}
	}
}

// SQLContains returns a Cut.Match for a simple query or parse message whose SQL
// contains every one of parts.
func SQLContains(parts ...string) func(typ byte, body []byte) bool {
	return func(typ byte, body []byte) bool {
		if typ != 'Q' && typ != 'P' {
			return false
		}
		for _, s := range parts {
			if !bytes.Contains(bytes.ToLower(body), bytes.ToLower([]byte(s))) {
				return false
			}
		}
		return true
	}
}

// IsCommit is a Cut.Match for the COMMIT of a transaction (pgx sends it as a simple
// query).
func IsCommit(typ byte, body []byte) bool {
	return typ == 'Q' && bytes.EqualFold(bytes.TrimRight(body, "\x00; "), []byte("commit"))
}
