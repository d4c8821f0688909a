// Package pop3 is a small, streaming POP3 client (RFC 1939) with CAPA
// (RFC 2449), STLS (RFC 2595) and SASL AUTH (RFC 5034), built on
// net/textproto.
//
// Behaviour worth knowing:
//
//   - Every command gets a deadline of Options.Timeout for the whole
//     command/response exchange. RETR and TOP bodies instead extend the read
//     deadline each time data arrives (at most every 64 KiB, the size of the
//     read buffer), so a big message over a slow link does not time out while
//     a stalled one does.
//   - Cancelling the ctx of a call closes the connection; the call returns
//     ctx.Err(). For Retr and Top the ctx stays armed until the body is
//     closed or fully read.
//   - Status lines (+OK/-ERR, "+ " continuations) and the lines of
//     CAPA/LIST/UIDL listings may be at most MaxLineLength octets including
//     CRLF; a longer one is a protocol error. Message body lines (RETR, TOP)
//     have no length limit: they are streamed, never buffered whole, so a
//     10,000-byte line comes through intact and memory stays flat.
//   - Transport and protocol errors (timeouts, garbage responses, a dropped
//     connection, ctx cancellation) make the Client unusable: the connection
//     is closed and every later call returns an error. A -ERR reply (*Error)
//     leaves the session usable.
//   - Arguments containing CR, LF or NUL are rejected before anything is sent.
//   - The Debug trace redacts credentials (PASS, APOP digest, AUTH payloads).
//
// A Client is not safe for concurrent use.
package pop3

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
)

// DefaultTimeout is used when Options.Timeout is zero or negative.
const DefaultTimeout = 60 * time.Second

// MaxLineLength is the longest status or listing line accepted, in octets
// including CRLF (RFC 5322's line limit; RFC 2449 asks servers for 512).
const MaxLineLength = 1000

const (
	bufSize        = 64 << 10 // read buffer; also the upper bound for SASL challenges
	maxAuthCmdLine = 255      // RFC 5034 §4: longer initial responses go after "+ "
)

// Options configures a Client.
type Options struct {
	// TLSConfig is used for implicit TLS (DialTLS) and STLS (StartTLS). It
	// must carry ServerName (or InsecureSkipVerify); that is the caller's
	// job. DialTLS fills ServerName from addr if TLSConfig is nil.
	TLSConfig *tls.Config
	// Timeout is the deadline per command/response (DefaultTimeout if <= 0).
	// While a RETR/TOP body streams, it is the longest allowed gap between
	// two reads from the network instead.
	Timeout time.Duration
	// Debug, if not nil, receives a protocol trace ("C: ..." / "S: ...")
	// with credentials redacted as "***". Message bodies are not traced.
	Debug io.Writer
}

// ErrNoUIDL is returned (wrapped together with the server's *Error) by UIDL
// when the server answers -ERR, i.e. does not support UIDL.
var ErrNoUIDL = errors.New("pop3: server does not support UIDL")

// ErrProtocol is wrapped by errors about malformed server responses.
var ErrProtocol = errors.New("pop3: protocol error")

// Error is a -ERR reply from the server.
type Error struct {
	Cmd string // the command, with credentials redacted ("PASS ***")
	Msg string // the server's text after -ERR, e.g. "[AUTH] invalid login"
}

// Error implements error.
func (e *Error) Error() string { return "pop3: " + e.Cmd + ": -ERR " + e.Msg }

// MsgInfo is one LIST entry.
type MsgInfo struct {
	ID   int   // message number in this session
	Size int64 // size in octets as reported by the server
}

// MsgUID is one UIDL entry.
type MsgUID struct {
	ID  int    // message number in this session
	UID string // unique-id, stable across sessions
}

// Client is a POP3 connection. Create it with Dial or DialTLS.
type Client struct {
	raw       net.Conn // the TCP connection; closed on cancel/failure
	conn      net.Conn // raw, or the *tls.Conn on top of it
	br        *bufio.Reader
	tp        *textproto.Reader
	timeout   time.Duration
	opts      Options
	timestamp string // APOP timestamp from the greeting, "<...>"
	broken    error  // set once the connection is unusable
	body      *body  // open RETR/TOP body
	streaming bool   // extend the read deadline on every network read
}

// Dial connects to addr over plain TCP and reads the greeting.
func Dial(ctx context.Context, addr string, o Options) (*Client, error) {
	d := net.Dialer{Timeout: timeoutOf(o)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pop3: dial %s: %w", addr, err)
	}
	return newClient(ctx, conn, o)
}

// DialTLS connects to addr with implicit TLS (usually port 995) using
// o.TLSConfig, and reads the greeting.
func DialTLS(ctx context.Context, addr string, o Options) (*Client, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeoutOf(o)}, Config: o.TLSConfig}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pop3: dial tls %s: %w", addr, err)
	}
	return newClient(ctx, conn, o)
}

func timeoutOf(o Options) time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

func newClient(ctx context.Context, conn net.Conn, o Options) (*Client, error) {
	c := &Client{raw: conn, conn: conn, timeout: timeoutOf(o), opts: o}
	if tc, ok := conn.(*tls.Conn); ok {
		c.raw = tc.NetConn()
	}
	c.br = bufio.NewReaderSize(connReader{c}, bufSize)
	c.tp = textproto.NewReader(c.br)
	err := c.run(ctx, func() error {
		text, err := c.status("greeting")
		if err != nil {
			return err
		}
		if i := strings.IndexByte(text, '<'); i >= 0 {
			if j := strings.IndexByte(text[i:], '>'); j > 0 {
				c.timestamp = text[i : i+j+1]
			}
		}
		return nil
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// connReader feeds the bufio.Reader from the current conn (which changes on
// STLS) and extends the read deadline while a body streams.
type connReader struct{ c *Client }

func (r connReader) Read(p []byte) (int, error) {
	if r.c.streaming {
		r.c.conn.SetReadDeadline(time.Now().Add(r.c.timeout))
	}
	return r.c.conn.Read(p)
}

// run executes one exchange under a deadline, closing the connection if ctx
// is cancelled meanwhile.
func (c *Client) run(ctx context.Context, f func() error) error {
	stop, err := c.begin(ctx)
	if err != nil {
		return err
	}
	return c.end(ctx, stop, f())
}

func (c *Client) begin(ctx context.Context) (stop func() bool, err error) {
	if c.broken != nil {
		return nil, c.broken
	}
	if c.body != nil {
		return nil, errors.New("pop3: previous message body not closed")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.conn.SetDeadline(time.Now().Add(c.timeout))
	return context.AfterFunc(ctx, func() { c.raw.Close() }), nil
}

func (c *Client) end(ctx context.Context, stop func() bool, err error) error {
	if !stop() {
		c.raw.Close()
		c.broken = fmt.Errorf("pop3: connection closed: %w", ctx.Err())
		return ctx.Err()
	}
	return err
}

// fail marks the connection unusable, closes it and returns err.
func (c *Client) fail(err error) error {
	if c.broken == nil {
		c.broken = fmt.Errorf("pop3: connection unusable after: %w", err)
	}
	c.raw.Close()
	return err
}

func (c *Client) trace(prefix, s string) {
	if c.opts.Debug != nil {
		io.WriteString(c.opts.Debug, prefix+s+"\n")
	}
}

func protoErr(cmd, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrProtocol, cmd, fmt.Sprintf(format, args...))
}

// sanitize quotes and truncates a server line for an error message.
func sanitize(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}

// checkArgs rejects arguments that could inject commands.
func checkArgs(cmd string, args ...string) error {
	for _, a := range args {
		if strings.ContainsAny(a, "\r\n\x00") {
			return fmt.Errorf("pop3: %s: argument contains CR, LF or NUL", cmd)
		}
	}
	return nil
}

// send writes line + CRLF; show is what the trace and errors display.
func (c *Client) send(show, line string) error {
	c.trace("C: ", show)
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		return c.fail(fmt.Errorf("pop3: %s: %w", show, err))
	}
	return nil
}

// readLine reads one status/listing line of at most limit octets, without
// its line ending.
func (c *Client) readLine(cmd string, limit int) (string, error) {
	b, err := c.br.ReadSlice('\n')
	if err != nil {
		switch {
		case err == bufio.ErrBufferFull:
			err = protoErr(cmd, "response line longer than %d bytes", bufSize)
		case err == io.EOF && len(b) > 0:
			err = fmt.Errorf("pop3: %s: %w", cmd, io.ErrUnexpectedEOF)
		case err == io.EOF:
			err = fmt.Errorf("pop3: %s: connection closed by server: %w", cmd, err)
		default:
			err = fmt.Errorf("pop3: %s: %w", cmd, err)
		}
		return "", c.fail(err)
	}
	if len(b) > limit {
		return "", c.fail(protoErr(cmd, "response line longer than %d bytes: %s", limit, sanitize(string(b))))
	}
	line := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	c.trace("S: ", line)
	return line, nil
}

// cutStatus reports whether line is ind or starts with ind+" " (case-insensitively).
func cutStatus(line, ind string) (string, bool) {
	if len(line) < len(ind) || !strings.EqualFold(line[:len(ind)], ind) {
		return "", false
	}
	if rest := line[len(ind):]; rest == "" || rest[0] == ' ' {
		return strings.TrimPrefix(rest, " "), true
	}
	return "", false
}

// status reads a status line: the text after +OK, an *Error for -ERR, or a
// protocol error (which breaks the connection).
func (c *Client) status(cmd string) (string, error) {
	line, err := c.readLine(cmd, MaxLineLength)
	if err != nil {
		return "", err
	}
	if text, ok := cutStatus(line, "+OK"); ok {
		return text, nil
	}
	if text, ok := cutStatus(line, "-ERR"); ok {
		return "", &Error{Cmd: cmd, Msg: text}
	}
	return "", c.fail(protoErr(cmd, "unexpected response %s", sanitize(line)))
}

// simple sends a command and reads its status line.
func (c *Client) simple(ctx context.Context, show, line string) (text string, err error) {
	err = c.run(ctx, func() error {
		if err := c.send(show, line); err != nil {
			return err
		}
		text, err = c.status(show)
		return err
	})
	return text, err
}

// listing sends a command with a multi-line answer and calls each for every
// un-dot-stuffed line. A parse error from each is returned after the listing
// has been read to its end, so the session stays usable.
func (c *Client) listing(ctx context.Context, cmd string, each func(string) error) error {
	return c.run(ctx, func() error {
		if err := c.send(cmd, cmd); err != nil {
			return err
		}
		if _, err := c.status(cmd); err != nil {
			return err
		}
		var first error
		for {
			line, err := c.readLine(cmd, MaxLineLength)
			if err != nil {
				return err
			}
			if line == "." {
				return first
			}
			line = strings.TrimPrefix(line, ".")
			if err := each(line); err != nil && first == nil {
				first = protoErr(cmd, "%v: %s", err, sanitize(line))
			}
		}
	})
}

// Capa issues CAPA and returns capability name (upper case) -> arguments.
// It returns a nil map and no error if the server answers -ERR.
func (c *Client) Capa(ctx context.Context) (map[string][]string, error) {
	caps := map[string][]string{}
	err := c.listing(ctx, "CAPA", func(line string) error {
		f := strings.Fields(line)
		if len(f) == 0 {
			return nil
		}
		caps[strings.ToUpper(f[0])] = f[1:]
		return nil
	})
	var perr *Error
	if errors.As(err, &perr) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return caps, nil
}

// IsTLS reports whether the connection is encrypted (DialTLS, or after
// StartTLS).
func (c *Client) IsTLS() bool {
	_, ok := c.conn.(*tls.Conn)
	return ok
}

// StartTLS issues STLS, performs the TLS handshake with Options.TLSConfig
// and then issues CAPA again (RFC 2595 §4: earlier capabilities are void).
// Any failure after the +OK leaves the Client unusable.
func (c *Client) StartTLS(ctx context.Context) error {
	if c.IsTLS() {
		return errors.New("pop3: STLS: connection already uses TLS")
	}
	if c.opts.TLSConfig == nil {
		return errors.New("pop3: STLS: Options.TLSConfig is nil")
	}
	err := c.run(ctx, func() error {
		if err := c.send("STLS", "STLS"); err != nil {
			return err
		}
		if _, err := c.status("STLS"); err != nil {
			return err
		}
		if c.br.Buffered() > 0 { // data injected before the handshake
			return c.fail(protoErr("STLS", "unexpected data after +OK"))
		}
		tc := tls.Client(c.conn, c.opts.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return c.fail(fmt.Errorf("pop3: STLS: %w", err))
		}
		c.conn = tc
		return nil
	})
	if err != nil {
		return err
	}
	_, err = c.Capa(ctx)
	return err
}

// Login authenticates with USER and PASS.
func (c *Client) Login(ctx context.Context, user, pass string) error {
	if err := checkArgs("USER", user, pass); err != nil {
		return err
	}
	if _, err := c.simple(ctx, "USER "+user, "USER "+user); err != nil {
		return err
	}
	_, err := c.simple(ctx, "PASS ***", "PASS "+pass)
	return err
}

// APOP authenticates with APOP: the digest is hex(md5(timestamp + pass)).
// It fails without contacting the server if the greeting had no timestamp.
func (c *Client) APOP(ctx context.Context, user, pass string) error {
	if c.timestamp == "" {
		return errors.New("pop3: APOP: server greeting has no timestamp")
	}
	if err := checkArgs("APOP", user); err != nil {
		return err
	}
	sum := md5.Sum([]byte(c.timestamp + pass))
	_, err := c.simple(ctx, "APOP "+user+" ***", "APOP "+user+" "+hex.EncodeToString(sum[:]))
	return err
}

// Auth authenticates with a SASL mechanism (RFC 5034). The initial response
// is sent with the AUTH command if the line fits in 255 octets, otherwise
// after the server's empty "+ " challenge. If the mechanism returns an error
// on a challenge, the exchange is cancelled with "*".
func (c *Client) Auth(ctx context.Context, sc sasl.Client) error {
	mech, ir, err := sc.Start()
	if err != nil {
		return fmt.Errorf("pop3: AUTH: %w", err)
	}
	if mech == "" || strings.ContainsAny(mech, " \r\n\x00") {
		return fmt.Errorf("pop3: AUTH: invalid mechanism name %q", mech)
	}
	cmd := "AUTH " + mech
	return c.run(ctx, func() error {
		line, show, pending := cmd, cmd, ir
		if ir != nil {
			enc := "="
			if len(ir) > 0 {
				enc = base64.StdEncoding.EncodeToString(ir)
			}
			if len(cmd)+1+len(enc) <= maxAuthCmdLine {
				line, show, pending = cmd+" "+enc, cmd+" ***", nil
			}
		}
		if err := c.send(show, line); err != nil {
			return err
		}
		for {
			resp, err := c.readLine(cmd, bufSize)
			if err != nil {
				return err
			}
			if _, ok := cutStatus(resp, "+OK"); ok {
				return nil
			}
			if text, ok := cutStatus(resp, "-ERR"); ok {
				return &Error{Cmd: cmd, Msg: text}
			}
			chal64, ok := cutStatus(resp, "+")
			if !ok {
				return c.fail(protoErr(cmd, "unexpected response %s", sanitize(resp)))
			}
			var out []byte
			if pending != nil {
				out, pending = pending, nil
			} else {
				chal, err := base64.StdEncoding.DecodeString(chal64)
				if err != nil {
					err = protoErr(cmd, "bad base64 challenge %s", sanitize(chal64))
				} else if out, err = sc.Next(chal); err != nil {
					err = fmt.Errorf("pop3: %s: %w", cmd, err)
				}
				if err != nil {
					return c.cancelAuth(cmd, err)
				}
			}
			if err := c.send("***", base64.StdEncoding.EncodeToString(out)); err != nil {
				return err
			}
		}
	})
}

// cancelAuth sends "*" and reads the server's (-ERR) answer so the session
// stays in sync; it returns err.
func (c *Client) cancelAuth(cmd string, err error) error {
	if serr := c.send("*", "*"); serr != nil {
		return err
	}
	if _, serr := c.status(cmd); serr != nil {
		var perr *Error
		if !errors.As(serr, &perr) {
			return err // transport/protocol failure: already broken
		}
	}
	return err
}

// Stat issues STAT and returns the message count and total size (octets).
func (c *Client) Stat(ctx context.Context) (count int, size int64, err error) {
	text, err := c.simple(ctx, "STAT", "STAT")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(text)
	if len(f) >= 2 {
		count, err = strconv.Atoi(f[0])
		if err == nil {
			size, err = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if len(f) < 2 || err != nil || count < 0 || size < 0 {
		return 0, 0, protoErr("STAT", "malformed response %s", sanitize(text))
	}
	return count, size, nil
}

func parseIDField(f []string) (int, error) {
	if len(f) < 2 {
		return 0, errors.New("malformed line")
	}
	id, err := strconv.Atoi(f[0])
	if err != nil || id <= 0 {
		return 0, errors.New("bad message number")
	}
	return id, nil
}

// List issues LIST and returns the number and size of every message.
func (c *Client) List(ctx context.Context) ([]MsgInfo, error) {
	var out []MsgInfo
	err := c.listing(ctx, "LIST", func(line string) error {
		f := strings.Fields(line)
		id, err := parseIDField(f)
		if err != nil {
			return err
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 {
			return errors.New("bad size")
		}
		out = append(out, MsgInfo{ID: id, Size: size})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UIDL issues UIDL and returns the unique-id of every message. If the server
// answers -ERR, the error wraps both ErrNoUIDL and the server's *Error.
func (c *Client) UIDL(ctx context.Context) ([]MsgUID, error) {
	var out []MsgUID
	err := c.listing(ctx, "UIDL", func(line string) error {
		f := strings.Fields(line)
		id, err := parseIDField(f)
		if err != nil {
			return err
		}
		out = append(out, MsgUID{ID: id, UID: f[1]})
		return nil
	})
	var perr *Error
	if errors.As(err, &perr) {
		return nil, fmt.Errorf("%w: %w", ErrNoUIDL, perr)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Retr issues RETR and streams the message: dot-unstuffed, CRLF turned into
// LF. See Top for the contract of the returned body.
func (c *Client) Retr(ctx context.Context, id int) (io.ReadCloser, error) {
	return c.multi(ctx, "RETR "+strconv.Itoa(id))
}

// Top issues TOP id n (headers plus n body lines) and streams the answer
// like Retr. The body must be read to EOF or closed before the next
// command. Close drains it up to the terminating dot; if that fails the
// Client becomes unusable. If the connection ends before the terminating
// ".", Read returns io.ErrUnexpectedEOF (never a silently short message).
// ctx stays in effect until the body is finished.
func (c *Client) Top(ctx context.Context, id, n int) (io.ReadCloser, error) {
	if n < 0 {
		return nil, errors.New("pop3: TOP: negative line count")
	}
	return c.multi(ctx, "TOP "+strconv.Itoa(id)+" "+strconv.Itoa(n))
}

func (c *Client) multi(ctx context.Context, cmd string) (io.ReadCloser, error) {
	stop, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	err = c.send(cmd, cmd)
	if err == nil {
		_, err = c.status(cmd)
	}
	if err != nil {
		return nil, c.end(ctx, stop, err)
	}
	b := &body{c: c, ctx: ctx, stop: stop, cmd: cmd, r: &dotReader{br: c.br}}
	c.body, c.streaming = b, true
	return b, nil
}

// body is an open RETR/TOP answer.
type body struct {
	c    *Client
	ctx  context.Context
	stop func() bool
	cmd  string
	r    io.Reader
	done bool
	err  error // sticky result once done (io.EOF on success)
}

func (b *body) Read(p []byte) (int, error) {
	if b.done {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if err != nil {
		b.finish(err)
		return n, b.err
	}
	return n, nil
}

// finish ends the body with the DotReader's final error (io.EOF = success).
func (b *body) finish(err error) {
	c := b.c
	b.done = true
	c.body, c.streaming = nil, false
	canceled := !b.stop()
	switch {
	case canceled:
		c.raw.Close()
		c.broken = fmt.Errorf("pop3: connection closed: %w", b.ctx.Err())
		if err != io.EOF {
			err = b.ctx.Err()
		}
	case err == io.EOF:
		c.conn.SetDeadline(time.Time{})
	case err == io.ErrUnexpectedEOF:
		c.fail(fmt.Errorf("pop3: %s: %w", b.cmd, err))
	default:
		err = c.fail(fmt.Errorf("pop3: %s: %w", b.cmd, err))
	}
	b.err = err
}

// Close drains the rest of the message; see Top.
func (b *body) Close() error {
	if !b.done {
		io.Copy(io.Discard, b)
	}
	if b.err == io.EOF {
		return nil
	}
	return b.err
}

// Dele marks message id for deletion; it takes effect on Quit.
func (c *Client) Dele(ctx context.Context, id int) error {
	cmd := "DELE " + strconv.Itoa(id)
	_, err := c.simple(ctx, cmd, cmd)
	return err
}

// Noop issues NOOP.
func (c *Client) Noop(ctx context.Context) error {
	_, err := c.simple(ctx, "NOOP", "NOOP")
	return err
}

// Rset issues RSET, unmarking messages marked by Dele.
func (c *Client) Rset(ctx context.Context) error {
	_, err := c.simple(ctx, "RSET", "RSET")
	return err
}

// Quit issues QUIT, which commits deletions, and closes the connection even
// if the server answers -ERR. An error means deletions may not be committed.
func (c *Client) Quit(ctx context.Context) error {
	var err error
	if c.body != nil {
		err = errors.New("pop3: QUIT: message body not closed; not sent")
	} else {
		_, err = c.simple(ctx, "QUIT", "QUIT")
	}
	c.Close()
	return err
}

// Close closes the connection without QUIT; the server rolls back
// deletions. It is safe to call more than once.
func (c *Client) Close() error {
	if c.broken == nil {
		c.broken = errors.New("pop3: client closed")
	}
	if err := c.raw.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
