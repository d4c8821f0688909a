package transport

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

// TestExplainHostname: a real handshake with a certificate made for
// 127.0.0.1 and mail.test, reached as "localhost", names what the
// certificate is valid for.
func TestExplainHostname(t *testing.T) {
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
	cert, _ := x509.ParseCertificate(der)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
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
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	port := l.Addr().(*net.TCPAddr).Port
	_, err = tls.Dial("tcp", l.Addr().String(), &tls.Config{ServerName: "localhost", RootCAs: pool})
	if err == nil {
		t.Fatal("the handshake verified a certificate for another name")
	}
	got := Explain(err, Endpoint{Proto: "IMAP", Host: "localhost", Port: port, TLS: "implicit", CAFile: "/x/ca.pem"}, Handshake, nil)
	if !errors.Is(got, ErrTLS) {
		t.Errorf("not ErrTLS: %v", got)
	}
	for _, w := range []string{`not valid for "localhost"`, "valid for mail.test, 127.0.0.1", "set host to one of those"} {
		if !strings.Contains(got.Error(), w) {
			t.Errorf("%q lacks %q", got, w)
		}
	}
}
