package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Stage is the step of a connection that failed.
type Stage int

const (
	Connect   Stage = iota // TCP connect (and DNS)
	Handshake              // the TLS handshake of tls = "implicit"
	Greeting               // the server's greeting (before STARTTLS, if any)
	StartTLS               // the TLS handshake after STARTTLS / STLS
)

// Explain classifies a failure to connect to or secure e and says what to
// change where the cause is in the config: the host name, the TLS mode or
// port, or the trust (ca_file). tlsPort, when set, tells whether the port
// speaks TLS at once (SpeaksTLS); it is asked only when a plain connection
// got no greeting.
func Explain(err error, e Endpoint, stage Stage, tlsPort func() bool) error {
	if err == nil {
		return nil
	}
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return fmt.Errorf("connect to %s: no such host %q (check host; the name does not resolve): %w", e.Addr(), e.Host, err)
	}
	plain, implicit := e.ports()
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return fmt.Errorf("%w: %s does not answer with TLS (tls = %q): it is probably a plain %s port; use tls = \"starttls\" (port %d), or the port of implicit TLS (%d)", ErrTLS, e.Addr(), e.TLS, e.Proto, plain, implicit)
	}
	if stage == Greeting && e.TLS != "implicit" && tlsPort != nil && Temporary(err) && tlsPort() {
		return fmt.Errorf("%w: %s sent no %s greeting (tls = %q): the port expects TLS at once (implicit TLS, usually port %d); use tls = \"implicit\", or port %d for STARTTLS", ErrTLS, e.Addr(), e.Proto, e.TLS, implicit, plain)
	}
	if isCertError(err) {
		return fmt.Errorf("%w: %s", ErrTLS, certHint(err, e))
	}
	return Classify(fmt.Errorf("%s %s: %w", stageVerb(stage), e.Addr(), err))
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

// trust says what the certificate was checked against.
func trust(e Endpoint) string {
	if e.CAFile == "" {
		return "the system's CA certificates (no ca_file set)"
	}
	return "the system's CA certificates and ca_file " + e.CAFile
}

// certHint explains a certificate that did not verify.
func certHint(err error, e Endpoint) string {
	var he x509.HostnameError
	if errors.As(err, &he) && he.Certificate != nil {
		return fmt.Sprintf("the certificate of %s is not valid for %q: it is valid for %s; set host to one of those", e.Addr(), e.Host, validFor(he.Certificate))
	}
	var ci x509.CertificateInvalidError
	if errors.As(err, &ci) && ci.Reason == x509.Expired && ci.Cert != nil {
		return fmt.Sprintf("the certificate of %s is expired or not yet valid (valid from %s to %s); the server's administrator must renew it", e.Addr(), ci.Cert.NotBefore.UTC().Format("2006-01-02"), ci.Cert.NotAfter.UTC().Format("2006-01-02"))
	}
	var ua x509.UnknownAuthorityError
	issuer := ""
	if errors.As(err, &ua) && ua.Cert != nil {
		issuer = fmt.Sprintf(" (issued by %q)", ua.Cert.Issuer.String())
	}
	if e.CAFile == "" {
		return fmt.Sprintf("the certificate of %s%s is signed by an authority not among %s; if the server uses a private CA or a self-signed certificate, set ca_file to that CA's certificate (PEM)", e.Addr(), issuer, trust(e))
	}
	return fmt.Sprintf("the certificate of %s%s is signed by an authority not among %s; check that ca_file holds the certificate of the CA that signed the server's", e.Addr(), issuer, trust(e))
}

// validFor lists the names and IP addresses a certificate is valid for.
func validFor(c *x509.Certificate) string {
	var all []string
	for _, n := range c.DNSNames {
		all = append(all, n)
	}
	for _, ip := range c.IPAddresses {
		all = append(all, ip.String())
	}
	if len(all) == 0 && c.Subject.CommonName != "" {
		all = append(all, c.Subject.CommonName)
	}
	if len(all) == 0 {
		return "no name at all"
	}
	return strings.Join(all, ", ")
}
