package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/pop3"
)

// TestTemporary: exit 75 only for what may pass by itself.
func TestTemporary(t *testing.T) {
	op := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	tests := []struct {
		name string
		err  error
		temp bool
	}{
		{"connection refused", op(syscall.ECONNREFUSED), true},
		{"connection reset", fmt.Errorf("read: %w", op(syscall.ECONNRESET)), true},
		{"network unreachable", op(syscall.ENETUNREACH), true},
		{"timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, true},
		{"context deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"dropped", fmt.Errorf("in response: %w", io.ErrUnexpectedEOF), true},
		{"DNS no answer", &net.DNSError{Err: "server misbehaving", Name: "imap.example.com", IsTemporary: true}, true},
		{"DNS timeout", &net.DNSError{Err: "i/o timeout", Name: "imap.example.com", IsTimeout: true}, true},
		{"IMAP UNAVAILABLE", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "try later"}, true},
		{"POP3 SYS/TEMP", &pop3.Error{Cmd: "PASS ***", Msg: "[SYS/TEMP] busy"}, true},
		{"POP3 IN-USE", &pop3.Error{Cmd: "PASS ***", Msg: "[IN-USE] locked"}, true},
		{"marked", fmt.Errorf("x: %w", ErrTemporary), true},
		{"stall inside go-imap", fmt.Errorf("list folders: %v", errors.New("in response: cannot read tag: read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout")), true},
		{"NXDOMAIN", &net.DNSError{Err: "no such host", Name: "imap.exmaple.com", IsNotFound: true}, false},
		{"disk full", &fs.PathError{Op: "write", Path: "/m/tmp/x", Err: syscall.ENOSPC}, false},
		{"read-only fs", &fs.PathError{Op: "open", Path: "/m/tmp/x", Err: syscall.EROFS}, false},
		{"IMAP OVERQUOTA", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "quota"}, false},
		{"IMAP NO", &imap.Error{Type: imap.StatusResponseTypeNo, Text: "no"}, false},
		{"POP3 AUTH", &pop3.Error{Cmd: "PASS ***", Msg: "[AUTH] invalid"}, false},
		{"login refused", fmt.Errorf("%w: x", ErrAuth), false},
		{"TLS", fmt.Errorf("%w: x", ErrTLS), false},
		{"certificate", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, false},
		{"record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, false},
		{"other", errors.New("something else"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Temporary(tc.err); got != tc.temp {
				t.Errorf("Temporary = %v, want %v", got, tc.temp)
			}
			if got := errors.Is(Classify(tc.err), ErrTemporary); got != tc.temp {
				t.Errorf("Classify marks it temporary: %v, want %v", got, tc.temp)
			}
		})
	}
	if !errors.Is(Classify(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), ErrTLS) {
		t.Error("a certificate error is not ErrTLS")
	}
}

// TestExplain: the messages name the endpoint, the setting to change and
// the likely fix.
func TestExplain(t *testing.T) {
	imapE := Endpoint{Proto: "IMAP", Host: "mail.example.com", Port: 993, TLS: "starttls"}
	popE := Endpoint{Proto: "POP3", Host: "mail.example.com", Port: 110, TLS: "implicit"}
	tests := []struct {
		name  string
		err   error
		e     Endpoint
		stage Stage
		kind  error
		want  []string
	}{
		{"starttls on a TLS port", io.ErrUnexpectedEOF, imapE, Greeting, ErrTLS, []string{"mail.example.com:993", `tls = "starttls"`, `use tls = "implicit"`, "port 143"}},
		{"implicit on 110", tls.RecordHeaderError{}, popE, Handshake, ErrTLS, []string{"mail.example.com:110 does not answer with TLS", `tls = "starttls"`, "(port 110)", "(995)"}},
		{"NXDOMAIN", &net.DNSError{Err: "no such host", Name: "mail.example.com", IsNotFound: true}, imapE, Connect, nil, []string{`no such host "mail.example.com"`, "check host"}},
		{"EOF from a plain port is a dropped connection", io.EOF, Endpoint{Proto: "IMAP", Host: "h", Port: 143, TLS: "starttls"}, Greeting, ErrTemporary, []string{"greeting from h:143"}},
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, Endpoint{Proto: "IMAP", Host: "h", Port: 993, TLS: "implicit"}, Handshake, ErrTLS, []string{"h:993", "the system's CA certificates (no ca_file set)", "set ca_file"}},
		{"wrong ca_file", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, Endpoint{Proto: "IMAP", Host: "h", Port: 993, TLS: "implicit", CAFile: "/etc/my-ca.pem"}, Handshake, ErrTLS, []string{"ca_file /etc/my-ca.pem", "check that ca_file holds"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tlsPort := func() bool { return tc.e.Port == 993 } // what SpeaksTLS would find
			got := Explain(tc.err, tc.e, tc.stage, tlsPort)
			if tc.kind != nil && !errors.Is(got, tc.kind) {
				t.Errorf("%v: not %v", got, tc.kind)
			}
			if tc.kind == nil && Temporary(got) {
				t.Errorf("%v: temporary", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
}
