package syncer

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/imapconn"
)

// connPool hands out up to max logged-in connections.
type connPool struct {
	o    Options
	max  int
	mu   sync.Mutex
	idle []*imapconn.Conn
	all  []*imapconn.Conn
	// stops release the interrupt hooks of the connections (closeAll): a
	// long-lived caller's context would keep every connection otherwise
	stops []func() bool
	// warm dials: in flight, and claimed by a get waiting for one
	warming, claims int
	warmed          *sync.Cond // on mu: a warm dial ended
	wwg             sync.WaitGroup
}

func newPool(o Options) *connPool {
	p := &connPool{o: o, max: o.Server.MaxConnections}
	p.warmed = sync.NewCond(&p.mu)
	return p
}

// warm starts up to n more logins in the background (within max), for
// work that is known to come.
func (p *connPool) warm(ctx context.Context, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; i < n && len(p.all)+p.warming < p.max; i++ {
		p.warming++
		p.wwg.Add(1)
		go func() {
			defer p.wwg.Done()
			c, err := p.dial(ctx, nil)
			p.mu.Lock()
			p.warming--
			if err == nil {
				p.idle = append(p.idle, c)
			}
			p.mu.Unlock()
			p.warmed.Broadcast()
		}()
	}
}

func (p *connPool) get(ctx context.Context) (*imapconn.Conn, error) {
	p.mu.Lock()
	claimed := false
	for {
		for len(p.idle) > 0 {
			c := p.idle[len(p.idle)-1]
			p.idle = p.idle[:len(p.idle)-1]
			select {
			case <-c.Closed(): // timed out while idle, or dropped by the server
				continue
			default:
			}
			if claimed {
				p.claims--
			}
			p.mu.Unlock()
			return c, nil
		}
		// wait for a warm dial nobody else waits for, else dial
		if !claimed && p.warming > p.claims {
			p.claims++
			claimed = true
		}
		if !claimed || p.warming == 0 {
			break
		}
		p.warmed.Wait()
	}
	if claimed {
		p.claims--
	}
	p.mu.Unlock()
	return p.dial(ctx, nil)
}

// dial opens a new connection; pipeline sends commands along with LOGIN.
func (p *connPool) dial(ctx context.Context, pipeline func(*imapclient.Client, imap.CapSet)) (*imapconn.Conn, error) {
	c, err := p.o.Server.Dial(ctx, pipeline)
	if err != nil {
		return nil, err
	}
	// An interrupt ends what the connection is doing at once: reads and
	// writes in flight fail, what is done is recorded, nothing new starts.
	stop := context.AfterFunc(ctx, c.Abort)
	p.mu.Lock()
	p.all = append(p.all, c)
	p.stops = append(p.stops, stop)
	p.mu.Unlock()
	return c, nil
}

// put returns a connection; a connection that saw a network error is dropped.
func (p *connPool) put(c *imapconn.Conn, err error) {
	if c == nil {
		return
	}
	if err != nil && isConnError(err) {
		c.Abort()
		return
	}
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func (p *connPool) closeAll() {
	p.wwg.Wait() // a warm dial still under way ends in p.all
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.all {
		c.Close()
	}
	for _, stop := range p.stops {
		stop()
	}
	p.all, p.stops, p.idle = nil, nil, nil
}

// isTimeout tells a stalled server (not worth a retry in this run) from a
// dropped connection (retried once on a fresh one).
func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// go-imap wraps read errors with %v ("in response: cannot read tag:
	// ... i/o timeout"): the net.Error is gone, only its text is left.
	return err != nil && strings.Contains(err.Error(), os.ErrDeadlineExceeded.Error())
}

func isConnError(err error) bool {
	var ie *imap.Error
	return !errors.As(err, &ie) && !errors.Is(err, ErrBlocked)
}

// take removes an idle connection from the pool for a worker; false if it
// is gone or dead.
func (p *connPool) take(c *imapconn.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, ic := range p.idle {
		if ic == c {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			select {
			case <-c.Closed():
				return false
			default:
				return true
			}
		}
	}
	return false
}
