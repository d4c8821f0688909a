package mailnet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// Temporary reports whether err may pass by itself.
func (p Protocol) Temporary(err error) bool {
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
	// the server says so (RFC 5530, RFC 3206); any other refusal stands
	// until someone acts
	if p.Refused != nil {
		if refused, transient := p.Refused(err); refused {
			return transient
		}
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
// TLS verification failures ErrTLS; anything else, and an error that
// already has its kind, is returned as it is.
func (p Protocol) Classify(err error) error {
	if err == nil || marked(err) {
		return err
	}
	if isCertError(err) {
		return fmt.Errorf("%w: %w", ErrTLS, err)
	}
	if p.Temporary(err) {
		return fmt.Errorf("%w: %w", ErrTemporary, err)
	}
	return err
}

// isCertError reports whether err is a certificate that did not verify.
func isCertError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ci)
}
