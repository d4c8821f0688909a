// Package imapconn opens authenticated IMAP connections the way mdsync
// wants them: TLS verified (implicit or STARTTLS), a password never sent in
// the clear unless the config allowed it, a deadline on every wait, and a
// protocol trace with the credentials redacted.
package imapconn

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mdsync/mdsync/internal/transport"
)

// Options say where and how to connect.
type Options struct {
	Host           string
	Port           int
	TLS            string // implicit | starttls | none
	CAFile         string // extra trusted CA (PEM), e.g. for a self-signed server
	User, Password string
	Timeout        time.Duration // for every wait on the server
	Debug          io.Writer     // protocol trace (credentials redacted), or nil
	// UnilateralDataHandler receives EXISTS/EXPUNGE/FETCH pushed by the server.
	UnilateralDataHandler *imapclient.UnilateralDataHandler
	// Pipeline, if set, is called right after the login is sent, before
	// its answer, with the capabilities the server announced before the
	// login: commands it sends share the login's round trip. It must send
	// only what those capabilities allow (a server may announce more after
	// the login, but one that did not announce an extension may drop or
	// refuse input pipelined behind the login: Courier) and must not wait on
	// them (consume their results in a goroutine or after Dial).
	Pipeline func(c *imapclient.Client, preLogin imap.CapSet)
	// Auth is the mechanism: auto (default) | login | plain | xoauth2 |
	// oauthbearer (see chooseAuth).
	Auth string
	// Token returns an OAuth2 access token (refresh: a fresh one, after
	// the server refused the last); nil for an account with a password.
	Token func(ctx context.Context, refresh bool) (string, error)
}

// Conn is a logged-in connection.
type Conn struct {
	*imapclient.Client
	raw     net.Conn
	timeout time.Duration
	Caps    imap.CapSet
	// Mechanism is how it logged in: LOGIN, PLAIN, XOAUTH2, OAUTHBEARER.
	Mechanism string
}

// Close logs out (unless the connection is already dead) and closes the
// connection.
func (c *Conn) Close() error {
	select {
	case <-c.Client.Closed():
	default:
		// LOGOUT is sent, not waited for: its answer changes nothing
		// and would cost a round trip on every run.
		c.Client.Logout()
	}
	c.raw.Close()
	return c.Client.Close()
}

// Abort closes the socket at once: pending commands fail. Safe to call with
// a literal being read.
func (c *Conn) Abort() { c.raw.Close() }

// Error kinds, for exit codes (see package transport).
var (
	ErrTemporary = transport.ErrTemporary
	ErrAuth      = transport.ErrAuth
	ErrTLS       = transport.ErrTLS
)

// Classify marks err with one of the error kinds (transport.Classify).
func Classify(err error) error { return transport.Classify(err) }

// authError is a refused login and the mechanism it used.
type authError struct {
	err  error
	mech string
}

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// Dial connects, secures and logs in. An OAuth2 login the server refuses is
// tried once more on a new connection with a freshly refreshed token (the
// stored one may have been revoked or expired early).
func Dial(ctx context.Context, o Options) (*Conn, error) {
	c, err := dial(ctx, o, false)
	var ae *authError
	if err != nil && o.Token != nil && errors.As(err, &ae) && (ae.mech == AuthXOAuth2 || ae.mech == AuthOAuthBearer) {
		return dial(ctx, o, true)
	}
	return c, err
}

func dial(ctx context.Context, o Options, refresh bool) (*Conn, error) {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	ep := transport.Endpoint{Proto: "IMAP", Host: o.Host, Port: o.Port, TLS: o.TLS, CAFile: o.CAFile}
	addr := ep.Addr()
	d := net.Dialer{Timeout: o.Timeout, KeepAlive: 15 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, transport.Explain(err, ep, transport.Connect, nil)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	var conn net.Conn = raw
	tcfg, err := transport.TLSConfig(ep)
	if err != nil {
		raw.Close()
		return nil, err
	}
	if o.TLS == "implicit" {
		tc := tls.Client(raw, tcfg)
		tc.SetDeadline(time.Now().Add(o.Timeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, transport.Explain(err, ep, transport.Handshake, nil)
		}
		tc.SetDeadline(time.Time{})
		conn = tc
	}
	dc := &deadlineConn{Conn: conn, timeout: o.Timeout}
	opts := &imapclient.Options{UnilateralDataHandler: o.UnilateralDataHandler}
	var redact *redactor
	if o.Debug != nil {
		redact = newRedactor(transport.Tagged(o.Debug, transport.NextConnTag()), o.User, o.Password)
		opts.DebugWriter = redact
	}
	var c *imapclient.Client
	if o.TLS == "starttls" {
		opts.TLSConfig = tcfg
		c, err = imapclient.NewStartTLS(dc, opts)
		if err != nil {
			raw.Close()
			// NewStartTLS reads the greeting, then shakes hands
			stage := transport.StartTLS
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				stage = transport.Greeting
			}
			return nil, transport.Explain(err, ep, stage, speaksTLS(ctx, addr, o.Timeout))
		}
	} else {
		c = imapclient.New(dc, opts)
	}
	fail := func(what string, err error) (*Conn, error) {
		raw.Close()
		c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", what, addr, ctx.Err())
		}
		return nil, Classify(fmt.Errorf("%s %s: %w", what, addr, err))
	}
	if err := c.WaitGreeting(); err != nil {
		raw.Close()
		c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("greeting from %s: %w", addr, ctx.Err())
		}
		return nil, transport.Explain(err, ep, transport.Greeting, speaksTLS(ctx, addr, o.Timeout))
	}
	caps, err := capabilities(c)
	if err != nil {
		return fail("capabilities of", err)
	}
	mech, err := chooseAuth(o.Auth, caps, o.Token != nil, addr)
	if err != nil {
		raw.Close()
		c.Close()
		return nil, err
	}
	var token string
	if o.Token != nil {
		if token, err = o.Token(ctx, refresh); err != nil {
			raw.Close()
			c.Close()
			// a token endpoint that is away is temporary; a refresh
			// token the provider refused comes wrapped in ErrAuth
			return nil, transport.Classify(fmt.Errorf("%s as %q: get an access token: %w", addr, o.User, err))
		}
	}
	var pipeline func(*imapclient.Client)
	if o.Pipeline != nil {
		pipeline = func(c *imapclient.Client) { o.Pipeline(c, caps) }
	}
	if err := authenticate(ctx, c, dc, redact, mech, o, token, pipeline); err != nil {
		var ie *imap.Error
		var be *sasl.OAuthBearerError // the server's OAUTHBEARER failure challenge
		if errors.As(err, &ie) || errors.As(err, &be) {
			raw.Close()
			c.Close()
			text := ""
			if ie != nil {
				text = ie.Text
			} else {
				text = fmt.Sprintf("token refused (%s)", be.Status)
			}
			return nil, &authError{fmt.Errorf("%w: %s as %q (%s): %s", ErrAuth, addr, o.User, strings.ToUpper(mech), text), mech}
		}
		return fail("login to", err)
	}
	caps, err = capabilities(c)
	if err != nil {
		return fail("capabilities of", err)
	}
	return &Conn{Client: c, raw: raw, timeout: o.Timeout, Caps: caps, Mechanism: strings.ToUpper(mech)}, nil
}

// speaksTLS asks, only when called, whether addr expects TLS at once.
func speaksTLS(ctx context.Context, addr string, timeout time.Duration) func() bool {
	return func() bool { return transport.SpeaksTLS(ctx, addr, timeout) }
}

// capabilities returns what the server announced in its greeting or its
// LOGIN answer, and asks (one more round trip) only when it did not.
func capabilities(c *imapclient.Client) (imap.CapSet, error) {
	if caps := c.Caps(); caps != nil {
		return caps, nil
	}
	return c.Capability().Wait()
}

// deadlineConn bounds every wait on the server by timeout without
// progress: go-imap waits for the start of a response with no deadline at
// all (a stalled server would hang the run) and gives a whole literal five
// minutes. Each Read gets now+timeout, or the library's own deadline when
// that is sooner; writes push the read deadline out too, so that a long
// upload does not time out the reader waiting for its answer.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
	mu      sync.Mutex
	want    time.Time     // the deadline the library asked for (zero: none)
	failed  error         // set once a read timed out
	written chan struct{} // closed by the next Write (notifyWrite)
}

// notifyWrite returns a channel closed once the next Write is done.
func (c *deadlineConn) notifyWrite() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.written = make(chan struct{})
	return c.written
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.want = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.next())
}

func (c *deadlineConn) next() time.Time {
	d := time.Now().Add(c.timeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.want.IsZero() && c.want.Before(d) {
		return c.want
	}
	return d
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *deadlineConn) Read(p []byte) (int, error) {
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

func (c *deadlineConn) Write(p []byte) (int, error) {
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

// redactor hides credentials in a protocol trace.
type redactor struct {
	mu      sync.Mutex
	w       io.Writer
	secrets [][]byte
	buf     []byte
}

func newRedactor(w io.Writer, user, pass string) *redactor {
	r := &redactor{w: w}
	if pass != "" {
		for _, s := range []string{
			pass,
			base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass)),
			base64.StdEncoding.EncodeToString([]byte(user + "\x00" + user + "\x00" + pass)),
		} {
			r.secrets = append(r.secrets, []byte(s))
		}
	}
	return r
}

// add registers more secrets (an access token, a SASL initial response).
func (r *redactor) add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, []byte(s))
		}
	}
}

func (r *redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			break
		}
		line := r.buf[:i+1]
		r.w.Write(RedactLine(line, r.secrets))
		r.buf = r.buf[i+1:]
	}
	if len(r.buf) > 64<<10 { // a body literal: flush it, redacted
		r.w.Write(RedactLine(r.buf, r.secrets))
		r.buf = r.buf[:0]
	}
	return len(p), nil
}

// RedactLine replaces secrets and the arguments of LOGIN in a trace line.
func RedactLine(line []byte, secrets [][]byte) []byte {
	out := line
	for _, s := range secrets {
		if len(s) > 0 && bytes.Contains(out, s) {
			out = bytes.ReplaceAll(out, s, []byte("***"))
		}
	}
	if f := strings.Fields(string(out)); len(f) >= 3 && strings.EqualFold(f[1], "LOGIN") {
		out = []byte(f[0] + " LOGIN " + f[2] + " ***\r\n")
	}
	return out
}
