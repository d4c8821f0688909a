package mailnet

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// certHint explains a certificate that did not verify: for which names it
// is valid (set host), when it was valid (the administrator renews it), or
// who signed it (set ca_file).
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

// trust says what the certificate was checked against.
func trust(e Endpoint) string {
	if e.CAFile == "" {
		return "the system's CA certificates (no ca_file set)"
	}
	return "the system's CA certificates and ca_file " + e.CAFile
}

// validFor lists the names and IP addresses a certificate is valid for.
func validFor(c *x509.Certificate) string {
	all := append([]string{}, c.DNSNames...)
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
