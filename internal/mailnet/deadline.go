package mailnet

import (
	"errors"
	"net"
	"sync"
	"time"
)

// DeadlineConn bounds every wait on the server by a timeout without
// progress: a protocol library may wait for the start of a response with
// no deadline at all (go-imap does: a stalled server would hang the run)
// or give a whole literal minutes. Each Read gets now+timeout, or the
// library's own deadline when that is sooner; writes push the read
// deadline out too, so that a long upload does not time out the reader
// waiting for its answer. After a read timed out the connection is closed
// and every later Read fails with that timeout.
type DeadlineConn struct {
	net.Conn
	timeout time.Duration
	mu      sync.Mutex
	want    time.Time     // the deadline the library asked for (zero: none)
	failed  error         // set once a read timed out
	written chan struct{} // closed by the next Write (NotifyWrite)
}

// NewDeadlineConn wraps c; timeout must be positive.
func NewDeadlineConn(c net.Conn, timeout time.Duration) *DeadlineConn {
	return &DeadlineConn{Conn: c, timeout: timeout}
}

// NotifyWrite returns a channel closed once the next Write is done: a
// command is on its way, and what is pipelined behind it may follow.
func (c *DeadlineConn) NotifyWrite() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.written = make(chan struct{})
	return c.written
}

// SetReadDeadline records the library's deadline; reads stop at it or at
// the timeout, whichever comes first.
func (c *DeadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.want = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.next())
}

// SetDeadline sets the read deadline as SetReadDeadline does and the write
// deadline as asked.
func (c *DeadlineConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// next is the read deadline from now.
func (c *DeadlineConn) next() time.Time {
	d := time.Now().Add(c.timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.want.IsZero() && c.want.Before(d) {
		return c.want
	}
	return d
}

func (c *DeadlineConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	failed := c.failed
	c.mu.Unlock()
	if failed != nil {
		return 0, failed
	}
	c.Conn.SetReadDeadline(c.next())
	n, err := c.Conn.Read(p)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		// A timed-out connection is done for: the library would otherwise
		// retry the read and wait again, once per parser step.
		c.mu.Lock()
		c.failed = err
		c.mu.Unlock()
		c.Conn.Close()
	}
	return n, err
}

func (c *DeadlineConn) Write(p []byte) (int, error) {
	c.Conn.SetReadDeadline(c.next())
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	if c.written != nil {
		close(c.written)
		c.written = nil
	}
	c.mu.Unlock()
	return n, err
}
