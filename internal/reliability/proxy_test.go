package reliability

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// proxy forwards TCP connections from a chosen address to an agent: it
// puts an agent at an address fixed before the agent exists.
type proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// startProxy listens on addr and forwards to target ("host:port"). It is
// closed at the end of the test.
func startProxy(t *testing.T, addr, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port chosen earlier was taken in between: %v", err)
	}
	p := &proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) forward(in net.Conn) {
	defer p.wg.Done()
	if !p.track(in) {
		return
	}
	out, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = in.Close()
		return
	}
	if !p.track(out) {
		_ = in.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, in)
		_ = out.Close()
		close(done)
	}()
	_, _ = io.Copy(in, out)
	_ = in.Close()
	<-done
}

// close stops listening, cuts every connection and waits for the
// forwarding goroutines.
func (p *proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// hostPort returns the host:port of an http:// URL.
func hostPort(url string) string { return strings.TrimPrefix(url, "http://") }
