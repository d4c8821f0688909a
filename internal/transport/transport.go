// Package transport owns what IMAP and POP3 connections share: the verified
// TLS set-up, and what a failure to reach, secure or use a server means —
// temporary (exit 75: it may pass by itself) or not, and which setting to
// change when it will not.
package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/pop3"
)

// Error kinds, for exit codes. Everything not ErrTemporary is permanent:
// running again changes nothing until someone changes something.
var (
	// ErrTemporary wraps failures that may pass by themselves: a refused,
	// reset or dropped connection, a timeout, a DNS server that did not
	// answer, a server saying it is unavailable.
	ErrTemporary = errors.New("temporary failure")
	// ErrAuth wraps a refused login.
	ErrAuth = errors.New("login refused")
	// ErrTLS wraps a TLS failure: a certificate that does not verify, or a
	// port that does not speak TLS the way the config says.
	ErrTLS = errors.New("TLS failure")
)

// Endpoint is where and how a connection goes, for messages that say what
// to change.
type Endpoint struct {
	Proto  string // "IMAP" or "POP3"
	Host   string
	Port   int
	TLS    string // implicit | starttls | none
	CAFile string
}

// Addr is host:port.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// ports returns the protocol's plain and implicit-TLS ports.
func (e Endpoint) ports() (plain, implicit int) {
	if e.Proto == "POP3" {
		return 110, 995
	}
	return 143, 993
}

// TLSConfig builds the verified TLS configuration toward the endpoint: the
// system's roots, plus the certificates of CAFile when it is set.
func TLSConfig(e Endpoint) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: e.Host, MinVersion: tls.VersionTLS12}
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", e.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Temporary reports whether err may pass by itself.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrTemporary) {
		return true
	}
	if errors.Is(err, ErrTLS) || errors.Is(err, ErrAuth) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	// the server says so: IMAP [UNAVAILABLE], POP3 [SYS/TEMP] or [IN-USE]
	// (RFC 5530, RFC 3206); any other refusal stands until someone acts
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Code == imap.ResponseCodeUnavailable
	}
	var pe *pop3.Error
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Msg, "[SYS/TEMP]") || strings.HasPrefix(pe.Msg, "[IN-USE]")
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return !dns.IsNotFound // no such host is a typo until someone fixes it
	}
	for _, e := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.ENETDOWN, syscall.EHOSTDOWN, syscall.ETIMEDOUT} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		// a network operation that failed for another reason (the
		// local causes, such as a full disk, are not net.OpErrors)
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	// go-imap wraps read errors with %v ("in response: cannot read tag:
	// ... i/o timeout"): the net.Error is gone, only its text is left. A
	// server that greets and then stalls is away for a while, not wrong.
	return strings.Contains(err.Error(), os.ErrDeadlineExceeded.Error())
}

// Classify marks err ErrTemporary when it may pass by itself, and names
// TLS verification failures ErrTLS; anything else is returned as it is.
func Classify(err error) error {
	if err == nil || errors.Is(err, ErrTemporary) || errors.Is(err, ErrTLS) || errors.Is(err, ErrAuth) {
		return err
	}
	if isCertError(err) {
		return fmt.Errorf("%w: %w", ErrTLS, err)
	}
	if Temporary(err) {
		return fmt.Errorf("%w: %w", ErrTemporary, err)
	}
	return err
}

func isCertError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ci)
}
