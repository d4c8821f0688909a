package mailnet

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// testCA is a self-signed certificate for 127.0.0.1 and mail.test, and a
// TLS listener that serves it.
type testCA struct {
	cert *x509.Certificate
	l    net.Listener
}

func startTLS(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"mail.test"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return &testCA{cert: cert, l: l}
}

func (ca *testCA) port() int { return ca.l.Addr().(*net.TCPAddr).Port }

// TestExplainHostname: a real handshake with a certificate made for
// 127.0.0.1 and mail.test, reached as "localhost", names what the
// certificate is valid for.
func TestExplainHostname(t *testing.T) {
	ca := startTLS(t)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	_, err := tls.Dial("tcp", ca.l.Addr().String(), &tls.Config{ServerName: "localhost", RootCAs: pool})
	if err == nil {
		t.Fatal("the handshake verified a certificate for another name")
	}
	got := Explain(err, Endpoint{Proto: imapLike, Host: "localhost", Port: ca.port(), CAFile: "/x/ca.pem"}, Handshake, nil)
	if !errors.Is(got, ErrTLS) {
		t.Errorf("not ErrTLS: %v", got)
	}
	for _, w := range []string{`not valid for "localhost"`, "valid for mail.test, 127.0.0.1", "set host to one of those"} {
		if !strings.Contains(got.Error(), w) {
			t.Errorf("%q lacks %q", got, w)
		}
	}
}

// TestSpeaksTLS: the probe finds TLS on a TLS port (though it trusts
// nothing there) and none on a port that answers in plain text.
func TestSpeaksTLS(t *testing.T) {
	ca := startTLS(t)
	if !SpeaksTLS(t.Context(), ca.l.Addr().String(), time.Second) {
		t.Error("a TLS port does not speak TLS")
	}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	go func() {
		for {
			c, err := plain.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("* OK plain IMAP ready\r\n"))
			c.Close()
		}
	}()
	if SpeaksTLS(t.Context(), plain.Addr().String(), time.Second) {
		t.Error("a plain port speaks TLS")
	}
}

// TestDialImplicit: Dial verifies the certificate against TLSConfig's
// trust: refused without the CA, accepted with it.
func TestDialImplicit(t *testing.T) {
	ca := startTLS(t)
	e := Endpoint{Proto: imapLike, Host: "127.0.0.1", Port: ca.port()}
	cfg, err := TLSConfig(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Dial(t.Context(), e, cfg, time.Second); !errors.Is(err, ErrTLS) || !strings.Contains(err.Error(), "set ca_file") {
		t.Errorf("an untrusted certificate: %v, want ErrTLS with a ca_file hint", err)
	}
	cfg.RootCAs = x509.NewCertPool()
	cfg.RootCAs.AddCert(ca.cert)
	conn, raw, err := Dial(t.Context(), e, cfg, time.Second)
	if err != nil {
		t.Fatalf("trusted: %v", err)
	}
	defer raw.Close()
	if _, ok := conn.(*tls.Conn); !ok {
		t.Errorf("implicit TLS gave a %T", conn)
	}
}
