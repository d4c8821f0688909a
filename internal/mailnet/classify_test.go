package mailnet

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
	"syscall"
	"testing"
)

// TestClassify: exit 75 (ErrTemporary) only for what may pass by itself,
// ErrTLS for certificates that do not verify, and an error that has its
// kind keeps it.
func TestClassify(t *testing.T) {
	op := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	certErr := &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}
	tests := []struct {
		name string
		err  error
		kind error // ErrTemporary, ErrTLS, ErrAuth, or nil: permanent, unmarked
	}{
		{"connection refused", op(syscall.ECONNREFUSED), ErrTemporary},
		{"connection reset", fmt.Errorf("read: %w", op(syscall.ECONNRESET)), ErrTemporary},
		{"network unreachable", op(syscall.ENETUNREACH), ErrTemporary},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), ErrTemporary},
		{"timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, ErrTemporary},
		{"context deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), ErrTemporary},
		{"dropped", fmt.Errorf("in response: %w", io.ErrUnexpectedEOF), ErrTemporary},
		{"closed", fmt.Errorf("read: %w", net.ErrClosed), ErrTemporary},
		{"DNS no answer", &net.DNSError{Err: "server misbehaving", Name: "imap.example.com", IsTemporary: true}, ErrTemporary},
		{"DNS timeout", &net.DNSError{Err: "i/o timeout", Name: "imap.example.com", IsTimeout: true}, ErrTemporary},
		{"server: may pass", &refusal{"[TEMP] try later"}, ErrTemporary},
		{"already temporary", fmt.Errorf("x: %w", ErrTemporary), ErrTemporary},
		{"stall inside a library that formats with %v", fmt.Errorf("list folders: %v", errors.New("in response: cannot read tag: read tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout")), ErrTemporary},
		{"server: stands", &refusal{"over quota"}, nil},
		{"server refusal over a network error", fmt.Errorf("%w (%w)", &refusal{"no"}, io.EOF), nil},
		{"NXDOMAIN", &net.DNSError{Err: "no such host", Name: "imap.exmaple.com", IsNotFound: true}, nil},
		{"disk full", &fs.PathError{Op: "write", Path: "/m/tmp/x", Err: syscall.ENOSPC}, nil},
		{"read-only fs", &fs.PathError{Op: "open", Path: "/m/tmp/x", Err: syscall.EROFS}, nil},
		{"login refused", fmt.Errorf("%w: x", ErrAuth), ErrAuth},
		{"login refused over a dropped connection", fmt.Errorf("%w: %w", ErrAuth, io.EOF), ErrAuth},
		{"TLS", fmt.Errorf("%w: x", ErrTLS), ErrTLS},
		{"certificate", certErr, ErrTLS},
		{"record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, nil},
		{"other", errors.New("something else"), nil},
	}
	kinds := []error{ErrTemporary, ErrTLS, ErrAuth}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := imapLike.Classify(tc.err)
			for _, k := range kinds {
				if errors.Is(got, k) != (k == tc.kind) {
					t.Errorf("Classify(%v): errors.Is(%v) = %v, want kind %v", tc.err, k, errors.Is(got, k), tc.kind)
				}
			}
			if want := tc.kind == ErrTemporary; imapLike.Temporary(tc.err) != want {
				t.Errorf("Temporary = %v, want %v", !want, want)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("Classify lost the error it was given: %v", got)
			}
			if again := imapLike.Classify(got); again != got {
				t.Errorf("classified twice: %v, then %v", got, again)
			}
		})
	}
}

// TestClassifyWithoutRefusals: a protocol without server replies still
// sorts network errors, and a nil error stays nil.
func TestClassifyWithoutRefusals(t *testing.T) {
	var p Protocol
	if err := p.Classify(nil); err != nil {
		t.Errorf("Classify(nil) = %v", err)
	}
	if !errors.Is(p.Classify(io.EOF), ErrTemporary) {
		t.Error("EOF is not temporary")
	}
	if p.Temporary(&refusal{"[TEMP] x"}) {
		t.Error("a protocol without Refused read a refusal")
	}
}
