package mailnet

import (
	"crypto/tls"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTLSConfig: the host name is what the certificate is checked
// against, ca_file adds its CA, and a ca_file that holds no certificate is
// an error that names it.
func TestTLSConfig(t *testing.T) {
	cfg, err := TLSConfig(Endpoint{Host: "mail.example.com"})
	if err != nil || cfg.ServerName != "mail.example.com" || cfg.MinVersion != tls.VersionTLS12 || cfg.InsecureSkipVerify || cfg.RootCAs != nil {
		t.Fatalf("without ca_file: %+v, %v", cfg, err)
	}
	ca := startTLS(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.pem")
	os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600)
	cfg, err = TLSConfig(Endpoint{Host: "127.0.0.1", CAFile: good})
	if err != nil || cfg.RootCAs == nil {
		t.Fatalf("with ca_file: %v", err)
	}
	c, err := tls.Dial("tcp", ca.l.Addr().String(), cfg)
	if err != nil {
		t.Fatalf("the CA of ca_file is not trusted: %v", err)
	}
	c.Close()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := TLSConfig(Endpoint{Host: "h", CAFile: bad}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a ca_file without a certificate: %v", err)
	}
	if _, err := TLSConfig(Endpoint{Host: "h", CAFile: filepath.Join(dir, "missing.pem")}); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("a missing ca_file: %v", err)
	}
}
