package mailnet

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSConfig builds the verified TLS configuration toward the endpoint: the
// host name checked against the certificate, TLS 1.2 at least, and trust in
// the system's roots plus the certificates of CAFile when it is set (a
// private CA adds to the system's, it does not replace them).
func TLSConfig(e Endpoint) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: e.Host, MinVersion: tls.VersionTLS12}
	if e.CAFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(e.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s holds no PEM certificate", e.CAFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
