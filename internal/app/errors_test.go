package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdsync/mdsync/internal/testkit/imapfake"
)

// TestErrorClasses: each kind of failure gets the exit code of its class
// (75 only for what may pass by itself) and a message that names the
// setting to change, alike for IMAP and POP3.
func TestErrorClasses(t *testing.T) {
	d := startDovecot(t)
	dir := t.TempDir()
	t.Setenv("MDSYNC_TEST_PW", pass)
	ca := filepath.Join(dir, "ca.pem")
	must(t, os.WriteFile(ca, d.CACertPEM(), 0o600))
	otherCA := filepath.Join(dir, "other-ca.pem")
	must(t, os.WriteFile(otherCA, selfSignedPEM(t), 0o600))
	base := dovecotConfig(dir, d, "")
	// imap edits the [imap.test] account; pop the [pop.isp] one
	imapAcct := func(port int, tls string, extra string) string {
		s := strings.Replace(base, fmt.Sprintf("port = %d\ntls = \"none\"", d.IMAPPort), fmt.Sprintf("port = %d\ntls = %q\n%s", port, tls, extra), 1)
		return s
	}
	// a POP3S port waits for a ClientHello without a word: the timeout
	// is what ends the wait for a greeting
	popAcct := func(port int, tls string, extra string) string {
		extra += "\ntimeout = \"3s\""
		return strings.Replace(base, fmt.Sprintf("port = %d\ntls = \"none\"", d.POP3Port), fmt.Sprintf("port = %d\ntls = %q\n%s", port, tls, extra), 1)
	}
	caLine := fmt.Sprintf("ca_file = %q", ca)
	cases := []struct {
		name   string
		cfg    string
		target string
		code   int
		want   []string
	}{
		{"IMAP starttls on the implicit-TLS port", imapAcct(d.IMAPSPort, "starttls", caLine), "test", ExitFailed,
			[]string{fmt.Sprintf("127.0.0.1:%d", d.IMAPSPort), `tls = "starttls"`, `use tls = "implicit"`}},
		{"IMAP implicit TLS on the plain port", imapAcct(d.IMAPPort, "implicit", caLine), "test", ExitFailed,
			[]string{fmt.Sprintf("127.0.0.1:%d does not answer with TLS", d.IMAPPort), `use tls = "starttls"`, "993"}},
		{"IMAP without ca_file", imapAcct(d.IMAPSPort, "implicit", ""), "test", ExitFailed,
			[]string{fmt.Sprintf("127.0.0.1:%d", d.IMAPSPort), "(no ca_file set)", "set ca_file"}},
		{"IMAP with the wrong ca_file", imapAcct(d.IMAPSPort, "implicit", fmt.Sprintf("ca_file = %q", otherCA)), "test", ExitFailed,
			[]string{"ca_file " + otherCA, "check that ca_file holds"}},
		{"IMAP refused login", strings.Replace(base, `password_env = "MDSYNC_TEST_PW"`, `password = "wrong"`, 1), "test", ExitFailed,
			[]string{"login refused"}},
		{"IMAP connection refused", imapAcct(freePort(t), "none", ""), "test", ExitTemporary,
			[]string{"temporary failure", "connection refused"}},
		{"POP3 starttls on the implicit-TLS port", popAcct(d.POP3SPort, "starttls", caLine), "isp", ExitFailed,
			[]string{fmt.Sprintf("127.0.0.1:%d", d.POP3SPort), `use tls = "implicit"`, "port 110 for STARTTLS"}},
		{"POP3 implicit TLS on the plain port", popAcct(d.POP3Port, "implicit", caLine), "isp", ExitFailed,
			[]string{fmt.Sprintf("127.0.0.1:%d does not answer with TLS", d.POP3Port), `use tls = "starttls"`, "995"}},
		{"POP3 without ca_file", popAcct(d.POP3SPort, "implicit", ""), "isp", ExitFailed,
			[]string{"(no ca_file set)", "set ca_file"}},
		{"POP3 connection refused", popAcct(freePort(t), "none", ""), "isp", ExitTemporary,
			[]string{"temporary failure", "connection refused"}},
	}
	if _, err := net.LookupHost("no-such-host.invalid"); isNotFound(err) {
		cases = append(cases, struct {
			name   string
			cfg    string
			target string
			code   int
			want   []string
		}{"IMAP host that does not resolve", strings.Replace(base, `host = "127.0.0.1"`, `host = "no-such-host.invalid"`+"\nallow_plaintext = true", 1), "test", ExitFailed,
			[]string{`no such host "no-such-host.invalid"`, "check host"}})
	} else {
		t.Logf("no NXDOMAIN here (%v): the unresolvable host case is left out", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, dir, tc.cfg)
			for _, args := range [][]string{{"sync", tc.target}, {"check"}} {
				code, _, errOut := run(t, append([]string{"--config", p, "-q"}, args...)...)
				if args[0] == "check" {
					// check reports every account; the broken one decides
					if code != tc.code && !(tc.code == ExitTemporary && code == ExitTemporary) {
						t.Errorf("check: exit %d, want %d: %s", code, tc.code, errOut)
					}
				} else if code != tc.code {
					t.Errorf("sync: exit %d, want %d: %s", code, tc.code, errOut)
				}
				for _, w := range tc.want {
					if !strings.Contains(errOut, w) {
						t.Errorf("%s: stderr lacks %q:\n%s", args[0], w, errOut)
					}
				}
			}
		})
	}
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// selfSignedPEM is a CA certificate that signed nothing the tests connect to.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Another CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestStallIsTemporary: a server that greets and then stops answering
// exits 75, like one that is not there at all.
func TestStallIsTemporary(t *testing.T) {
	for _, cmd := range []string{"LOGIN", "LIST"} {
		t.Run(cmd, func(t *testing.T) {
			fake := imapfake.Start(t)
			fake.AddMailbox("INBOX")
			fake.Script(imapfake.Fault{Cmd: cmd, Do: imapfake.Stall})
			dir := t.TempDir()
			conf := writeConfig(t, dir, fmt.Sprintf(`state_dir = %q
[imap.f]
host = "127.0.0.1"
port = %d
tls = "none"
user = "u"
password = "p"
timeout = "1s"
[maildir.f]
path = %q
[channel.f]
imap = "f"
maildir = "f"
`, filepath.Join(dir, "state"), fake.Port, filepath.Join(dir, "mail")))
			code, _, errOut := run(t, "--config", conf, "-q", "sync")
			if code != ExitTemporary || !strings.Contains(errOut, "timeout") {
				t.Errorf("exit %d, want 75: %s", code, errOut)
			}
		})
	}
}
