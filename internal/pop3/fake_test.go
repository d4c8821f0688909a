package pop3

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// sconn is the server side of one connection, driven by a test script.
type sconn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

// send writes each line followed by CRLF and flushes.
func (s *sconn) send(lines ...string) {
	for _, l := range lines {
		s.w.WriteString(l + "\r\n")
	}
	if err := s.w.Flush(); err != nil {
		s.t.Logf("fake server: write: %v", err)
	}
}

// raw writes bytes as they are.
func (s *sconn) raw(b string) {
	s.w.WriteString(b)
	s.w.Flush()
}

// readLine returns the next client line without CRLF, or ok=false on EOF.
func (s *sconn) readLine() (string, bool) {
	l, err := s.r.ReadString('\n')
	if err != nil {
		return "", false
	}
	return strings.TrimRight(l, "\r\n"), true
}

// expect reads a line and reports a test error if it is not want.
func (s *sconn) expect(want string) bool {
	got, ok := s.readLine()
	if !ok {
		s.t.Errorf("fake server: want %q, got EOF", want)
		return false
	}
	if got != want {
		s.t.Errorf("fake server: want %q, got %q", want, got)
		return false
	}
	return true
}

// waitClose blocks until the client closes the connection.
func (s *sconn) waitClose() {
	io.Copy(io.Discard, s.r)
}

// startTLS upgrades the server side.
func (s *sconn) startTLS(cert tls.Certificate) bool {
	tc := tls.Server(s.conn, &tls.Config{Certificates: []tls.Certificate{cert}})
	if err := tc.Handshake(); err != nil {
		s.t.Logf("fake server: handshake: %v", err)
		return false
	}
	s.conn = tc
	s.r = bufio.NewReader(tc)
	s.w = bufio.NewWriterSize(tc, 64<<10)
	return true
}

// fakeServer starts a listener on 127.0.0.1:0 and runs script in a
// goroutine per accepted connection. Everything is torn down at cleanup.
func fakeServer(t *testing.T, script func(s *sconn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				script(&sconn{t: t, conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriterSize(conn, 64<<10)})
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// selfSigned returns a certificate for 127.0.0.1/localhost and a pool
// trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pop3 test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
