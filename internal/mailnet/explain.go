package mailnet

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
)

// Stage is the step of a connection that failed.
type Stage int

const (
	Connect   Stage = iota // TCP connect (and DNS)
	Handshake              // the TLS handshake of implicit TLS
	Greeting               // the server's greeting (before STARTTLS, if any)
	StartTLS               // the TLS handshake after STARTTLS / STLS
)

// Explain classifies a failure to connect to or secure e and says what to
// change where the cause is in the config: the host name, the TLS mode or
// port, or the trust (ca_file). tlsPort, when set, tells whether the port
// speaks TLS at once (TLSProbe); it is asked only when a plain connection
// got no greeting, so that a merely slow server costs no probe.
func Explain(err error, e Endpoint, stage Stage, tlsPort func() bool) error {
	if err == nil {
		return nil
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return fmt.Errorf("connect to %s: no such host %q (check host; the name does not resolve): %w", e.Addr(), e.Host, err)
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return fmt.Errorf("%w: %s does not answer with TLS (tls = %q): it is probably a plain %s port; use tls = \"starttls\" (port %d), or the port of implicit TLS (%d)",
			ErrTLS, e.Addr(), e.TLS.String(), e.Proto.Name, e.Proto.PlainPort, e.Proto.TLSPort)
	}
	if stage == Greeting && e.TLS != TLSImplicit && tlsPort != nil && e.Proto.Temporary(err) && tlsPort() {
		return fmt.Errorf("%w: %s sent no %s greeting (tls = %q): the port expects TLS at once (implicit TLS, usually port %d); use tls = \"implicit\", or port %d for STARTTLS",
			ErrTLS, e.Addr(), e.Proto.Name, e.TLS.String(), e.Proto.TLSPort, e.Proto.PlainPort)
	}
	if isCertError(err) {
		return fmt.Errorf("%w: %s", ErrTLS, certHint(err, e))
	}
	return e.Proto.Classify(fmt.Errorf("%s %s: %w", stageVerb(stage), e.Addr(), err))
}

func stageVerb(s Stage) string {
	switch s {
	case Handshake:
		return "TLS handshake with"
	case Greeting:
		return "greeting from"
	case StartTLS:
		return "STARTTLS with"
	}
	return "connect to"
}
