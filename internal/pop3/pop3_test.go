package pop3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"github.com/mdsync/mdsync/internal/xoauth2"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
)

const greeting = "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>"

func dial(t *testing.T, addr string, o Options) *Client {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	c, err := Dial(context.Background(), addr, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRetrBody(t *testing.T) {
	long := strings.Repeat("L", 10000)
	tests := []struct {
		name    string
		top     bool
		wire    string // sent after "+OK"; the server then closes if !closed
		want    string
		wantErr error // from reading the body
	}{
		{name: "dot-stuffing", wire: "Subject: x\r\n\r\n..x\r\n...\r\nplain.\r\n.\r\n", want: "Subject: x\n\n.x\n..\nplain.\n"},
		{name: "long line", wire: "A: b\r\n\r\n" + long + "\r\nend\r\n.\r\n", want: "A: b\n\n" + long + "\nend\n"},
		{name: "bare LF", wire: "a\nb\n.\n", want: "a\nb\n"},
		{name: "empty", wire: ".\r\n", want: ""},
		{name: "top", top: true, wire: "H: 1\r\n\r\nline1\r\n.\r\n", want: "H: 1\n\nline1\n"},
		{name: "truncated mid-line", wire: "H: 1\r\n\r\npartial li", wantErr: io.ErrUnexpectedEOF},
		{name: "missing terminating dot", wire: "H: 1\r\n\r\nlast line\r\n", wantErr: io.ErrUnexpectedEOF},
		{name: "dot without CRLF at EOF", wire: "H: 1\r\n.", wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := "RETR 1"
			if tt.top {
				cmd = "TOP 1 1"
			}
			addr := fakeServer(t, func(s *sconn) {
				s.send(greeting)
				if !s.expect(cmd) {
					return
				}
				s.raw("+OK message follows\r\n" + tt.wire)
				if tt.wantErr != nil {
					return // close the connection
				}
				if s.expect("NOOP") {
					s.send("+OK")
				}
				s.waitClose()
			})
			c := dial(t, addr, Options{})
			var rc io.ReadCloser
			var err error
			if tt.top {
				rc, err = c.Top(context.Background(), 1, 1)
			} else {
				rc, err = c.Retr(context.Background(), 1)
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			got, err := io.ReadAll(rc)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("read error = %v, want %v", err, tt.wantErr)
			}
			cerr := rc.Close()
			if tt.wantErr != nil {
				if !errors.Is(cerr, tt.wantErr) {
					t.Errorf("Close = %v, want %v", cerr, tt.wantErr)
				}
				if err := c.Noop(context.Background()); err == nil {
					t.Error("Noop after a broken body succeeded")
				}
				return
			}
			if cerr != nil {
				t.Errorf("Close: %v", cerr)
			}
			if string(got) != tt.want {
				t.Errorf("body = %q, want %q", trunc(got), trunc([]byte(tt.want)))
			}
			if tt.name == "long line" && bytes.Count(got, []byte("\n")) != 4 {
				t.Errorf("long line was split: %d lines", bytes.Count(got, []byte("\n")))
			}
			if err := c.Noop(context.Background()); err != nil {
				t.Errorf("Noop after body: %v", err)
			}
		})
	}
}

func trunc(b []byte) string {
	if len(b) > 100 {
		return string(b[:100]) + "..."
	}
	return string(b)
}

// A body closed early is drained, so the next command works; a command while
// a body is open is refused.
func TestRetrCloseDrains(t *testing.T) {
	addr := fakeServer(t, func(s *sconn) {
		s.send(greeting)
		s.expect("RETR 2")
		s.send("+OK")
		for i := 0; i < 5000; i++ {
			s.send("line of the message body that nobody reads")
		}
		s.send(".")
		s.expect("DELE 2")
		s.send("+OK deleted")
		s.waitClose()
	})
	c := dial(t, addr, Options{})
	rc, err := c.Retr(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(context.Background()); err == nil {
		t.Error("Noop with an open body succeeded")
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Dele(context.Background(), 2); err != nil {
		t.Fatalf("Dele after drained body: %v", err)
	}
}

func TestRetr50MBFlatMemory(t *testing.T) {
	const lines = 50 << 10 // 50 Ki lines of 1 KiB = 50 MiB
	addr := fakeServer(t, func(s *sconn) {
		s.send(greeting)
		s.expect("RETR 1")
		line := []byte(strings.Repeat("x", 1022) + "\r\n")
		s.w.WriteString("+OK 52428800 octets\r\n")
		for i := 0; i < lines; i++ {
			if _, err := s.w.Write(line); err != nil {
				return
			}
		}
		s.send(".")
		s.waitClose()
	})
	c := dial(t, addr, Options{})
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rc, err := c.Retr(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	runtime.ReadMemStats(&after)
	if want := int64(lines * 1023); n != want {
		t.Errorf("copied %d bytes, want %d", n, want)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("50 MiB RETR: TotalAlloc delta %d KiB, HeapInuse %d -> %d KiB", alloc>>10, before.HeapInuse>>10, after.HeapInuse>>10)
	if alloc > 8<<20 {
		t.Errorf("allocated %d bytes for a streamed 50 MiB message, want < 8 MiB", alloc)
	}
}

// failingNext is a sasl.Client whose Next fails, to exercise the "*" cancel.
type failingNext struct{}

func (failingNext) Start() (string, []byte, error) { return "X-TEST", nil, nil }
func (failingNext) Next(ch []byte) ([]byte, error) { return nil, errors.New("mechanism gave up") }

func TestAuth(t *testing.T) {
	const pass = "s3cr3t-Pa55"
	longPass := "tok-" + strings.Repeat("z", 300)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	digest := md5.Sum([]byte("<1896.697170952@dbc.mtview.ca.us>" + pass))
	xo := "user=bob\x01auth=Bearer " + pass + "\x01\x01"
	tests := []struct {
		name    string
		secrets []string // must not appear in the Debug trace
		do      func(c *Client) error
		script  func(s *sconn)
		wantErr bool
	}{
		{
			name: "USER/PASS", secrets: []string{pass},
			do: func(c *Client) error { return c.Login(context.Background(), "bob", pass) },
			script: func(s *sconn) {
				s.expect("USER bob")
				s.send("+OK")
				s.expect("PASS " + pass)
				s.send("+OK logged in")
			},
		},
		{
			name: "PASS rejected", secrets: []string{pass}, wantErr: true,
			do: func(c *Client) error { return c.Login(context.Background(), "bob", pass) },
			script: func(s *sconn) {
				s.expect("USER bob")
				s.send("+OK")
				s.expect("PASS " + pass)
				s.send("-ERR [AUTH] invalid password")
			},
		},
		{
			name: "APOP", secrets: []string{pass, hex.EncodeToString(digest[:])},
			do: func(c *Client) error { return c.APOP(context.Background(), "bob", pass) },
			script: func(s *sconn) {
				s.expect("APOP bob " + hex.EncodeToString(digest[:]))
				s.send("+OK maildrop has 2 messages")
			},
		},
		{
			name: "AUTH PLAIN initial response", secrets: []string{pass, b64("\x00bob\x00" + pass)},
			do: func(c *Client) error {
				return c.Auth(context.Background(), sasl.NewPlainClient("", "bob", pass))
			},
			script: func(s *sconn) {
				s.expect("AUTH PLAIN " + b64("\x00bob\x00"+pass))
				s.send("+OK")
			},
		},
		{
			name: "AUTH PLAIN without initial response (too long for 255 octets)", secrets: []string{longPass, b64("\x00bob\x00" + longPass)},
			do: func(c *Client) error {
				return c.Auth(context.Background(), sasl.NewPlainClient("", "bob", longPass))
			},
			script: func(s *sconn) {
				s.expect("AUTH PLAIN")
				s.send("+ ")
				s.expect(b64("\x00bob\x00" + longPass))
				s.send("+OK")
			},
		},
		{
			name: "XOAUTH2", secrets: []string{pass, b64(xo)},
			do: func(c *Client) error { return c.Auth(context.Background(), xoauth2.NewClient("bob", pass)) },
			script: func(s *sconn) {
				s.expect("AUTH XOAUTH2 " + b64(xo))
				s.send("+OK")
			},
		},
		{
			name: "XOAUTH2 error challenge", secrets: []string{pass, b64(xo)}, wantErr: true,
			do: func(c *Client) error { return c.Auth(context.Background(), xoauth2.NewClient("bob", pass)) },
			script: func(s *sconn) {
				s.expect("AUTH XOAUTH2 " + b64(xo))
				s.send("+ " + b64(`{"status":"401","schemes":"bearer"}`))
				s.expect("") // empty client response
				s.send("-ERR [AUTH] invalid credentials")
			},
		},
		{
			name: "mechanism error cancels with *", wantErr: true,
			do: func(c *Client) error { return c.Auth(context.Background(), failingNext{}) },
			script: func(s *sconn) {
				s.expect("AUTH X-TEST")
				s.send("+ " + b64("challenge"))
				s.expect("*")
				s.send("-ERR cancelled")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeServer(t, func(s *sconn) {
				s.send(greeting)
				tt.script(s)
				if s.expect("NOOP") { // the session is still in sync
					s.send("+OK")
				}
				s.waitClose()
			})
			var trace bytes.Buffer
			c := dial(t, addr, Options{Debug: &trace})
			err := tt.do(c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err := c.Noop(context.Background()); err != nil {
				t.Errorf("Noop after auth: %v", err)
			}
			for _, s := range tt.secrets {
				if strings.Contains(trace.String(), s) || (err != nil && strings.Contains(err.Error(), s)) {
					t.Errorf("trace or error leaks %q:\n%s", s, trace.String())
				}
			}
			if !strings.Contains(trace.String(), "***") && len(tt.secrets) > 0 {
				t.Errorf("trace has no redaction marker:\n%s", trace.String())
			}
		})
	}
}

func TestAPOPWithoutTimestamp(t *testing.T) {
	addr := fakeServer(t, func(s *sconn) {
		s.send("+OK no timestamp here")
		s.waitClose()
	})
	c := dial(t, addr, Options{})
	if err := c.APOP(context.Background(), "bob", "pw"); err == nil || !strings.Contains(err.Error(), "timestamp") {
		t.Fatalf("APOP = %v, want a missing-timestamp error", err)
	}
}

func TestStartTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	capa := []string{"+OK", "TOP", "UIDL", "STLS", "SASL PLAIN XOAUTH2", "."}
	addr := fakeServer(t, func(s *sconn) {
		s.send(greeting)
		s.expect("CAPA")
		s.send(capa...)
		s.expect("STLS")
		s.send("+OK begin TLS")
		if !s.startTLS(cert) {
			return
		}
		s.expect("CAPA")
		s.send("+OK", "TOP", "UIDL", "USER", ".")
		s.expect("USER bob")
		s.send("+OK")
		s.expect("PASS pw")
		s.send("+OK")
		s.expect("QUIT")
		s.send("+OK bye")
	})
	c := dial(t, addr, Options{TLSConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}})
	caps, err := c.Capa(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"TOP": {}, "UIDL": {}, "STLS": {}, "SASL": {"PLAIN", "XOAUTH2"}}
	if !reflect.DeepEqual(caps, want) {
		t.Errorf("Capa = %v, want %v", caps, want)
	}
	if c.IsTLS() {
		t.Error("IsTLS before STLS")
	}
	if err := c.StartTLS(context.Background()); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if !c.IsTLS() {
		t.Error("!IsTLS after STLS")
	}
	if err := c.Login(context.Background(), "bob", "pw"); err != nil {
		t.Fatalf("Login over TLS: %v", err)
	}
	if err := c.Quit(context.Background()); err != nil {
		t.Fatalf("Quit: %v", err)
	}
}

func TestStartTLSUntrustedCert(t *testing.T) {
	cert, _ := selfSigned(t)
	_, otherPool := selfSigned(t)
	addr := fakeServer(t, func(s *sconn) {
		s.send(greeting)
		s.expect("STLS")
		s.send("+OK")
		s.startTLS(cert)
	})
	c := dial(t, addr, Options{TLSConfig: &tls.Config{RootCAs: otherPool, ServerName: "localhost"}})
	err := c.StartTLS(context.Background())
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Fatalf("StartTLS = %v, want an unknown-authority error", err)
	}
	if err := c.Noop(context.Background()); err == nil {
		t.Error("Noop after failed handshake succeeded")
	}
}

func TestDialTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, "+OK TLS POP3\r\n")
		io.Copy(io.Discard, conn)
	}()
	c, err := DialTLS(context.Background(), ln.Addr().String(), Options{TLSConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.IsTLS() {
		t.Error("DialTLS: !IsTLS")
	}
}

func TestListings(t *testing.T) {
	addr := fakeServer(t, func(s *sconn) {
		s.send(greeting)
		s.expect("STAT")
		s.send("+OK 2 320")
		s.expect("LIST")
		s.send("+OK 2 messages", "1 120", "2 200", ".")
		s.expect("UIDL")
		s.send("+OK", "1 whqtswO00WBw418f9t5JxYwZ", "2 QhdPYR:00WBw1Ph7x7", ".")
		s.expect("CAPA")
		s.send("-ERR unknown command")
		s.expect("UIDL")
		s.send("-ERR unknown command")
		s.expect("NOOP")
		s.send("+OK")
		s.waitClose()
	})
	c := dial(t, addr, Options{})
	ctx := context.Background()
	n, size, err := c.Stat(ctx)
	if err != nil || n != 2 || size != 320 {
		t.Errorf("Stat = %d, %d, %v", n, size, err)
	}
	list, err := c.List(ctx)
	if want := []MsgInfo{{1, 120}, {2, 200}}; err != nil || !reflect.DeepEqual(list, want) {
		t.Errorf("List = %v, %v; want %v", list, err, want)
	}
	uids, err := c.UIDL(ctx)
	if want := []MsgUID{{1, "whqtswO00WBw418f9t5JxYwZ"}, {2, "QhdPYR:00WBw1Ph7x7"}}; err != nil || !reflect.DeepEqual(uids, want) {
		t.Errorf("UIDL = %v, %v; want %v", uids, err, want)
	}
	caps, err := c.Capa(ctx)
	if caps != nil || err != nil {
		t.Errorf("Capa on -ERR = %v, %v; want nil, nil", caps, err)
	}
	_, err = c.UIDL(ctx)
	var perr *Error
	if !errors.Is(err, ErrNoUIDL) || !errors.As(err, &perr) {
		t.Errorf("UIDL on -ERR = %v, want ErrNoUIDL wrapping *Error", err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Errorf("Noop: %v", err)
	}
}

func TestBadServers(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		reply    []string // server's answer to the command (nil: close the connection)
		call     func(c *Client) error
		wantErr  func(error) bool
		usable   bool // the session must still work afterwards
		wantText string
	}{
		{
			name: "garbage status line", reply: []string{"HELLO there"},
			call:    func(c *Client) error { _, _, err := c.Stat(ctx); return err },
			wantErr: func(err error) bool { return errors.Is(err, ErrProtocol) }, wantText: `STAT: unexpected response "HELLO there"`,
		},
		{
			name: "-ERR in the middle of a session", reply: []string{"-ERR message 3 already deleted"},
			call: func(c *Client) error { return c.Dele(ctx, 3) },
			wantErr: func(err error) bool {
				var e *Error
				return errors.As(err, &e) && e.Cmd == "DELE 3" && e.Msg == "message 3 already deleted"
			},
			usable: true,
		},
		{
			name: "dropped connection", reply: nil,
			call:    func(c *Client) error { _, _, err := c.Stat(ctx); return err },
			wantErr: func(err error) bool { return errors.Is(err, io.EOF) }, wantText: "connection closed by server",
		},
		{
			name: "malformed STAT", reply: []string{"+OK two"},
			call:    func(c *Client) error { _, _, err := c.Stat(ctx); return err },
			wantErr: func(err error) bool { return errors.Is(err, ErrProtocol) }, usable: true,
		},
		{
			name: "STAT without size", reply: []string{"+OK 2"},
			call:    func(c *Client) error { _, _, err := c.Stat(ctx); return err },
			wantErr: func(err error) bool { return errors.Is(err, ErrProtocol) }, usable: true,
		},
		{
			name: "malformed LIST line", reply: []string{"+OK", "1 100", "2", "x y", "..", "."},
			call:    func(c *Client) error { _, err := c.List(ctx); return err },
			wantErr: func(err error) bool { return errors.Is(err, ErrProtocol) }, usable: true,
		},
		{
			name: "malformed UIDL line", reply: []string{"+OK", "1", "."},
			call:    func(c *Client) error { _, err := c.UIDL(ctx); return err },
			wantErr: func(err error) bool { return errors.Is(err, ErrProtocol) && !errors.Is(err, ErrNoUIDL) }, usable: true,
		},
		{
			name: "status line over 1000 octets", reply: []string{"+OK " + strings.Repeat("a", 1200)},
			call:    func(c *Client) error { return c.Noop(ctx) },
			wantErr: func(err error) bool { return errors.Is(err, ErrProtocol) }, wantText: "longer than 1000",
		},
		{
			name: "status line over 64 KiB", reply: []string{"+OK " + strings.Repeat("a", 70000)},
			call:    func(c *Client) error { return c.Noop(ctx) },
			wantErr: func(err error) bool { return errors.Is(err, ErrProtocol) },
		},
		{
			name: "CRLF injection rejected", reply: nil,
			call:    func(c *Client) error { return c.Login(ctx, "bob\r\nDELE 1", "pw") },
			wantErr: func(err error) bool { return strings.Contains(err.Error(), "CR, LF") }, usable: true,
		},
		{
			name: "QUIT -ERR", reply: []string{"-ERR some deleted messages not removed"},
			call: func(c *Client) error { return c.Quit(ctx) },
			wantErr: func(err error) bool {
				var e *Error
				return errors.As(err, &e) && e.Cmd == "QUIT"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeServer(t, func(s *sconn) {
				s.send(greeting)
				line, ok := s.readLine()
				if !ok {
					return
				}
				if tt.name == "CRLF injection rejected" {
					// nothing may have been sent before this NOOP
					if line != "NOOP" {
						t.Errorf("server got %q, want NOOP", line)
					}
					s.send("+OK")
					s.waitClose()
					return
				}
				if tt.reply == nil {
					return // drop the connection
				}
				s.send(tt.reply...)
				if line, ok := s.readLine(); ok && line == "NOOP" {
					s.send("+OK")
				}
				s.waitClose()
			})
			c := dial(t, addr, Options{})
			err := tt.call(c)
			if err == nil || !tt.wantErr(err) {
				t.Fatalf("err = %v: not the expected error", err)
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantText)
			}
			nerr := c.Noop(ctx)
			if tt.usable && nerr != nil {
				t.Errorf("session not usable afterwards: %v", nerr)
			}
			if !tt.usable && nerr == nil {
				t.Error("session still usable after a fatal error")
			}
		})
	}
}

func TestGarbageGreeting(t *testing.T) {
	addr := fakeServer(t, func(s *sconn) { s.send("* OK IMAP4rev1 ready"); s.waitClose() })
	_, err := Dial(context.Background(), addr, Options{Timeout: 5 * time.Second})
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "IMAP4rev1") {
		t.Fatalf("Dial = %v, want a protocol error quoting the line", err)
	}
}

func TestHangingServer(t *testing.T) {
	tests := []struct {
		name string
		body bool // hang in the middle of a RETR body instead of the status line
	}{
		{name: "no status line"},
		{name: "stall mid-body", body: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeServer(t, func(s *sconn) {
				s.send(greeting)
				s.readLine()
				if tt.body {
					s.send("+OK", "Subject: stalled", "")
				}
				s.waitClose() // never answer
			})
			c := dial(t, addr, Options{Timeout: 200 * time.Millisecond})
			start := time.Now()
			var err error
			if tt.body {
				var rc io.ReadCloser
				rc, err = c.Retr(context.Background(), 1)
				if err != nil {
					t.Fatal(err)
				}
				_, err = io.ReadAll(rc)
			} else {
				_, _, err = c.Stat(context.Background())
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("err = %v, want a timeout", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("timed out after %v", d)
			}
			if err := c.Noop(context.Background()); err == nil {
				t.Error("Noop after timeout succeeded")
			}
		})
	}
}

// A body that keeps flowing must outlive Timeout; this needs real pacing.
func TestSlowBodyExtendsDeadline(t *testing.T) {
	const chunks = 12
	addr := fakeServer(t, func(s *sconn) {
		s.send(greeting)
		s.expect("RETR 1")
		s.send("+OK")
		tick := time.NewTicker(40 * time.Millisecond) // total 480 ms > Timeout, each gap < Timeout
		defer tick.Stop()
		for i := 0; i < chunks; i++ {
			<-tick.C
			s.send("chunk")
		}
		s.send(".")
		s.waitClose()
	})
	c := dial(t, addr, Options{Timeout: 250 * time.Millisecond})
	start := time.Now()
	rc, err := c.Retr(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("slow but flowing body failed after %v: %v", time.Since(start), err)
	}
	if want := strings.Repeat("chunk\n", chunks); string(got) != want {
		t.Errorf("body = %q", got)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Logf("note: body took only %v, deadline extension not exercised", d)
	}
}

func TestContextCancel(t *testing.T) {
	tests := []struct {
		name string
		body bool
	}{
		{name: "waiting for status"},
		{name: "reading body", body: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan struct{})
			addr := fakeServer(t, func(s *sconn) {
				s.send(greeting)
				s.readLine()
				if tt.body {
					s.send("+OK", "Subject: partial")
				}
				close(got)
				s.waitClose()
			})
			c := dial(t, addr, Options{Timeout: 30 * time.Second})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			start := time.Now()
			var err error
			if tt.body {
				rc, oerr := c.Retr(ctx, 1)
				if oerr != nil {
					t.Fatal(oerr)
				}
				<-got
				go cancel()
				_, err = io.ReadAll(rc)
			} else {
				go func() { <-got; cancel() }()
				_, _, err = c.Stat(ctx)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("cancel took %v", d)
			}
			if err := c.Noop(context.Background()); !errors.Is(err, context.Canceled) {
				t.Errorf("Noop after cancel = %v, want the connection closed", err)
			}
		})
	}
}

func TestQuitCommitsAndCloses(t *testing.T) {
	addr := fakeServer(t, func(s *sconn) {
		s.send(greeting)
		s.expect("DELE 1")
		s.send("+OK")
		s.expect("QUIT")
		s.send("+OK dewey POP3 server signing off (1 message left)")
		if _, ok := s.readLine(); ok {
			t.Error("client kept the connection open after QUIT")
		}
	})
	c := dial(t, addr, Options{})
	if err := c.Dele(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(context.Background()); err == nil {
		t.Error("Noop after Quit succeeded")
	}
}

func TestStartTLSRefusals(t *testing.T) {
	_, pool := selfSigned(t)
	tests := []struct {
		name   string
		reply  string // raw bytes after STLS
		usable bool
	}{
		// Plaintext injected after +OK must not be read as if it came over TLS.
		{name: "data injected before handshake", reply: "+OK\r\n+OK injected\r\n"},
		{name: "-ERR keeps the plain session", reply: "-ERR TLS not available\r\n", usable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeServer(t, func(s *sconn) {
				s.send(greeting)
				s.expect("STLS")
				s.raw(tt.reply)
				if line, ok := s.readLine(); ok && line == "NOOP" {
					s.send("+OK")
				}
				s.waitClose()
			})
			c := dial(t, addr, Options{TLSConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}})
			err := c.StartTLS(context.Background())
			if err == nil {
				t.Fatal("StartTLS succeeded")
			}
			if c.IsTLS() {
				t.Error("IsTLS after failed STLS")
			}
			if nerr := c.Noop(context.Background()); (nerr == nil) != tt.usable {
				t.Errorf("Noop after failed STLS = %v, usable want %v", nerr, tt.usable)
			}
		})
	}
}
