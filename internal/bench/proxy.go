package bench

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a TCP proxy on loopback that models a distant server: every
// chunk of bytes is held until D after it arrived, per direction, and
// chunks leave in order. The delay is a fixed one-way latency (a pipe of
// length D), not D added per chunk on top of the previous chunk's delay, so
// a pipelined stream pays D once while each request/response round trip
// pays 2D.
type Proxy struct {
	D        time.Duration
	Upstream string

	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed atomic.Bool
	// Turns counts direction changes client->server->client (a rough
	// count of the round trips the clients waited for).
	Turns atomic.Int64
}

// StartProxy listens on a free loopback port and forwards to upstream.
func StartProxy(upstream string, d time.Duration) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{D: d, Upstream: upstream, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Port is the proxy's port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Close stops accepting and closes every open connection.
func (p *Proxy) Close() error {
	p.closed.Store(true)
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		if p.closed.Load() {
			return false
		}
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer client.Close()
	if !p.track(client, true) {
		return
	}
	defer p.track(client, false)
	// The connect itself crosses the link: SYN out, SYN-ACK back.
	time.Sleep(2 * p.D)
	server, err := net.Dial("tcp", p.Upstream)
	if err != nil {
		return
	}
	defer server.Close()
	if !p.track(server, true) {
		return
	}
	defer p.track(server, false)
	var last atomic.Int32 // 1 = client spoke last, 2 = server
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(server, client, &last, 1) }()
	go func() { defer wg.Done(); p.pipe(client, server, &last, 2) }()
	wg.Wait()
}

type chunk struct {
	at   time.Time
	data []byte
	eof  bool
}

// pipe copies src to dst, holding each chunk until its arrival time + D.
func (p *Proxy) pipe(dst, src net.Conn, last *atomic.Int32, dir int32) {
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				if dir == 2 && last.Swap(dir) == 1 {
					p.Turns.Add(1)
				} else if dir == 1 {
					last.Store(dir)
				}
				q <- chunk{at: time.Now(), data: buf[:n]}
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					q <- chunk{at: time.Now(), eof: true}
				}
				return
			}
		}
	}()
	sawEOF := false
	for c := range q {
		if wait := time.Until(c.at.Add(p.D)); wait > 0 {
			time.Sleep(wait)
		}
		if c.eof {
			sawEOF = true
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			continue
		}
		if _, err := dst.Write(c.data); err != nil {
			src.Close()
			for range q {
			}
			return
		}
	}
	if !sawEOF {
		// src failed without a clean EOF: tear the other side down too.
		dst.Close()
	}
}
