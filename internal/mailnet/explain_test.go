package mailnet

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestExplain: a failure to connect says where, what kind it is, which
// setting to change and to what.
func TestExplain(t *testing.T) {
	imapE := Endpoint{Proto: imapLike, Host: "mail.example.com", Port: 993, TLS: TLSStartTLS}
	popE := Endpoint{Proto: popLike, Host: "mail.example.com", Port: 110, TLS: TLSImplicit}
	expired := &x509.Certificate{NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)}
	issued := &x509.Certificate{Issuer: pkix.Name{CommonName: "Private CA"}}
	tests := []struct {
		name  string
		err   error
		e     Endpoint
		stage Stage
		kind  error // nil: permanent and unmarked
		want  []string
	}{
		{"starttls on a TLS port", io.ErrUnexpectedEOF, imapE, Greeting, ErrTLS,
			[]string{"mail.example.com:993", "sent no IMAP greeting", `tls = "starttls"`, `use tls = "implicit"`, "port 143 for STARTTLS"}},
		{"implicit on a plain POP3 port", tls.RecordHeaderError{}, popE, Handshake, ErrTLS,
			[]string{"mail.example.com:110 does not answer with TLS", `(tls = "implicit")`, "plain POP3 port", `use tls = "starttls" (port 110)`, "implicit TLS (995)"}},
		{"NXDOMAIN", &net.DNSError{Err: "no such host", Name: "mail.example.com", IsNotFound: true}, imapE, Connect, nil,
			[]string{`no such host "mail.example.com"`, "check host"}},
		{"refused connection", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, popE, Connect, ErrTemporary,
			[]string{"connect to mail.example.com:110"}},
		{"EOF from a plain port is a dropped connection", io.EOF, Endpoint{Proto: imapLike, Host: "h", Port: 143, TLS: TLSStartTLS}, Greeting, ErrTemporary,
			[]string{"greeting from h:143"}},
		{"a failed STARTTLS handshake", io.EOF, Endpoint{Proto: popLike, Host: "h", Port: 110, TLS: TLSStartTLS}, StartTLS, ErrTemporary,
			[]string{"STARTTLS with h:110"}},
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{Cert: &x509.Certificate{Issuer: issued.Issuer}}}, Endpoint{Proto: imapLike, Host: "h", Port: 993}, Handshake, ErrTLS,
			[]string{"h:993", `(issued by "CN=Private CA")`, "the system's CA certificates (no ca_file set)", "set ca_file to that CA's certificate"}},
		{"wrong ca_file", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, Endpoint{Proto: imapLike, Host: "h", Port: 993, CAFile: "/etc/my-ca.pem"}, Handshake, ErrTLS,
			[]string{"ca_file /etc/my-ca.pem", "check that ca_file holds"}},
		{"expired", &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Cert: expired, Reason: x509.Expired}}, Endpoint{Proto: popLike, Host: "h", Port: 995}, Handshake, ErrTLS,
			[]string{"expired or not yet valid", "from 2020-01-01 to 2021-01-01", "administrator must renew it"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tlsPort := func() bool { return tc.e.Port == 993 || tc.e.Port == 995 } // what SpeaksTLS would find
			got := Explain(tc.err, tc.e, tc.stage, tlsPort)
			for _, k := range []error{ErrTemporary, ErrTLS, ErrAuth} {
				if errors.Is(got, k) != (k == tc.kind) {
					t.Errorf("%v: errors.Is(%v) = %v, want kind %v", got, k, errors.Is(got, k), tc.kind)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
	if Explain(nil, imapE, Connect, nil) != nil {
		t.Error("Explain(nil) is not nil")
	}
}

// TestExplainProbesOnlyWhenItMatters: the TLS probe (an extra connection)
// runs only for a plain connection that got no greeting.
func TestExplainProbesOnlyWhenItMatters(t *testing.T) {
	probes := 0
	probe := func() bool { probes++; return false }
	e := Endpoint{Proto: imapLike, Host: "h", Port: 143, TLS: TLSStartTLS}
	Explain(io.EOF, e, Connect, probe)
	Explain(io.EOF, Endpoint{Proto: imapLike, Host: "h", Port: 993}, Greeting, probe)
	Explain(&refusal{"no"}, e, Greeting, probe)
	if probes != 0 {
		t.Fatalf("probed %d times where the answer changes nothing", probes)
	}
	if got := Explain(io.EOF, e, Greeting, probe); probes != 1 || !errors.Is(got, ErrTemporary) {
		t.Errorf("no greeting, no TLS there: %d probes, %v (want one probe and a temporary error)", probes, got)
	}
}
