package app

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/lock"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The channel syncs alice's mailbox and the POP account fetches bob's: the
// two running at once on one mailbox would make the outcome depend on their
// order (a POP RETR marks messages \Seen).
const user, popUser, pass = "alice", "bob", "secret"

func startDovecot(t *testing.T) *dovecot.Server {
	return dovecot.Start(t, dovecot.WithUser(user, pass), dovecot.WithUser(popUser, pass))
}

// run calls Main in-process.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(append([]string{"mdsync"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// dovecotConfig is a config for one channel and one POP account against d.
func dovecotConfig(dir string, d *dovecot.Server, extraIMAP string) string {
	return fmt.Sprintf(`state_dir = %q

[imap.test]
host = "127.0.0.1"
port = %d
tls = "none"
user = %q
password_env = "MDSYNC_TEST_PW"
%s

[maildir.test]
path = %q

[channel.test]
imap = "test"
maildir = "test"
folders = ["*", "!Junk", "!POP"]

[pop.isp]
host = "127.0.0.1"
port = %d
tls = "none"
user = %q
password_env = "MDSYNC_TEST_PW"
maildir = "test"
folder = "POP"
`, filepath.Join(dir, "state"), d.IMAPPort, user, extraIMAP, filepath.Join(dir, "mail"), d.POP3Port, popUser)
}

func TestConfigErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, text, want string
	}{
		{"unknown key", "[imap.a]\nhost = \"h\"\nuser = \"u\"\npasword = \"x\"\n", `config.toml:4: unknown key "imap.a.pasword" (did you mean "imap.a.password"?)`},
		{"plaintext to remote", "[imap.a]\nhost = \"imap.example.com\"\ntls = \"none\"\nuser = \"u\"\npassword_env = \"X\"\n", `config.toml:3: imap.a: tls = "none" toward imap.example.com would send the password in clear text`},
		{"unknown maildir", "[imap.a]\nhost = \"h\"\nuser = \"u\"\npassword_env = \"X\"\n[maildir.m]\npath = \"/tmp/m\"\n[channel.c]\nimap = \"a\"\nmaildir = \"n\"\n", `config.toml:9: channel.c: unknown maildir "n"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeConfig(t, dir, c.text)
			code, out, errOut := run(t, "--config", p, "sync")
			if code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || out != "" {
				t.Errorf("stderr %q\nwant one line containing %q (stdout %q)", errOut, c.want, out)
			}
		})
	}
	code, _, errOut := run(t, "--config", filepath.Join(dir, "nope.toml"), "check")
	if code != ExitUsage || !strings.Contains(errOut, "nope.toml: cannot read config") {
		t.Errorf("missing config: exit %d %q", code, errOut)
	}
	p := writeConfig(t, dir, "[imap.a]\nhost = \"h\"\nuser = \"u\"\npassword_env = \"X\"\n")
	if code, _, errOut := run(t, "--config", p, "sync", "nosuch"); code != ExitUsage || !strings.Contains(errOut, `no channel or pop account named "nosuch"`) {
		t.Errorf("unknown target: exit %d %q", code, errOut)
	}
	if code, _, _ := run(t, "--no-such-flag"); code != ExitUsage {
		t.Errorf("unknown flag: exit %d", code)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestLoginFailuresAndExitCodes(t *testing.T) {
	d := startDovecot(t)
	dir := t.TempDir()
	base := dovecotConfig(dir, d, "")
	cases := []struct {
		name     string
		cfg      string
		pw       string
		args     []string
		wantCode int
		want     string
	}{
		{"wrong password", base, "wrong", []string{"check"}, ExitFailed, `imap.test: login refused: 127.0.0.1:` + fmt.Sprint(d.IMAPPort) + ` as "alice"`},
		{"wrong password pop", base, "wrong", []string{"sync", "isp"}, ExitFailed, `pop isp: login refused`},
		{"unreachable host", strings.Replace(base, fmt.Sprintf("port = %d", d.IMAPPort), fmt.Sprintf("port = %d", freePort(t)), 1), pass, []string{"sync", "test"}, ExitTemporary, `temporary failure: connect to 127.0.0.1:`},
		{"untrusted certificate", strings.Replace(strings.Replace(base, fmt.Sprintf("port = %d", d.IMAPPort), fmt.Sprintf("port = %d", d.IMAPSPort), 1), `tls = "none"`, `tls = "implicit"`, 1), pass, []string{"check"}, ExitFailed, `TLS failure: the certificate of 127.0.0.1:`},
		{"ok", base, pass, []string{"check"}, ExitOK, ``},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("MDSYNC_TEST_PW", c.pw)
			p := writeConfig(t, dir, c.cfg)
			code, _, errOut := run(t, append([]string{"--config", p}, c.args...)...)
			if code != c.wantCode {
				t.Errorf("exit %d, want %d; stderr %q", code, c.wantCode, errOut)
			}
			if c.want != "" && !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q\nwant it to contain %q", errOut, c.want)
			}
			if strings.Contains(errOut, pass) && c.pw == pass {
				t.Errorf("stderr leaks the password: %q", errOut)
			}
		})
	}
	// With the server's CA the same TLS account verifies.
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, d.CACertPEM(), 0o600)
	t.Setenv("MDSYNC_TEST_PW", pass)
	for _, mode := range []struct{ tls, port string }{{"implicit", fmt.Sprint(d.IMAPSPort)}, {"starttls", fmt.Sprint(d.IMAPPort)}} {
		cfg := strings.Replace(strings.Replace(base, fmt.Sprintf("port = %d", d.IMAPPort), "port = "+mode.port, 1), `tls = "none"`, fmt.Sprintf("tls = %q\nca_file = %q", mode.tls, ca), 1)
		p := writeConfig(t, dir, cfg)
		if code, out, errOut := run(t, "--config", p, "check"); code != 0 || !strings.Contains(out, "tls "+mode.tls) {
			t.Errorf("%s with ca_file: exit %d %q %q", mode.tls, code, out, errOut)
		}
	}
}

func TestLockHeldExit75(t *testing.T) {
	d := startDovecot(t)
	dir := t.TempDir()
	t.Setenv("MDSYNC_TEST_PW", pass)
	p := writeConfig(t, dir, dovecotConfig(dir, d, ""))
	l, err := lock.Acquire(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "--config", p, "sync")
	l.Release()
	if code != ExitTemporary || !strings.Contains(errOut, "another mdsync run holds the lock") {
		t.Fatalf("exit %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "--config", p, "-q", "sync"); code != 0 {
		t.Fatalf("after release: exit %d %q\n%s", code, errOut, d.LogTail())
	}
}

// normalizeArrivals makes the arrived records of a --json summary
// comparable: file names are generated, and messages land in any order.
func normalizeArrivals(v map[string]any) {
	targets, _ := v["targets"].([]any)
	for _, t := range targets {
		tm, _ := t.(map[string]any)
		arr, _ := tm["arrived"].([]any)
		for _, a := range arr {
			am := a.(map[string]any)
			p, _ := am["path"].(string)
			am["path"] = filepath.Base(filepath.Dir(p)) + "/FILE"
		}
		sort.Slice(arr, func(i, j int) bool {
			return fmt.Sprint(arr[i].(map[string]any)["message_id"]) < fmt.Sprint(arr[j].(map[string]any)["message_id"])
		})
	}
}

// TestSyncJSONGolden runs a real sync and compares the --json summary with
// a golden file (go test -run TestSyncJSONGolden -update to rewrite it).
func TestSyncJSONGolden(t *testing.T) {
	d := startDovecot(t)
	dir := t.TempDir()
	t.Setenv("MDSYNC_TEST_PW", pass)
	d.CreateFolder(t, user, "Archive/2023")
	d.CreateFolder(t, user, "Junk")
	for i := 0; i < 4; i++ {
		d.Append(t, user, "INBOX", dovecot.GenMessage(7, i, 500))
		d.Append(t, user, "Archive/2023", dovecot.GenMessage(8, i, 500))
		d.Append(t, user, "Junk", dovecot.GenMessage(9, i, 500))
		d.Append(t, popUser, "INBOX", dovecot.GenMessage(10, i, 500))
	}
	p := writeConfig(t, dir, dovecotConfig(dir, d, ""))
	check := func(name string, args ...string) {
		code, out, errOut := run(t, append([]string{"--config", p, "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errOut)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s: stdout is not one JSON object: %v\n%s", name, err, out)
		}
		v["version"] = "X"
		normalizeArrivals(v)
		got, _ := json.MarshalIndent(v, "", "  ")
		golden := filepath.Join("testdata", name+".json")
		if *update {
			os.MkdirAll("testdata", 0o755)
			os.WriteFile(golden, append(got, '\n'), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
			t.Errorf("%s: --json output differs from %s:\n%s", name, golden, got)
		}
	}
	check("dry-run", "--dry-run", "sync", "test")
	check("first-sync", "sync")
	check("second-sync", "sync")
	// status reflects the runs
	code, out, _ := run(t, "--config", p, "status")
	if code != 0 || !strings.Contains(out, "channel test: ok at") || !strings.Contains(out, "8 messages in 2 folders") {
		t.Errorf("status: %d %q", code, out)
	}
}

func TestQuietAndVerboseRedaction(t *testing.T) {
	d := startDovecot(t)
	dir := t.TempDir()
	t.Setenv("MDSYNC_TEST_PW", pass)
	d.Append(t, user, "INBOX", dovecot.GenMessage(5, 1, 300))
	p := writeConfig(t, dir, dovecotConfig(dir, d, ""))
	code, out, errOut := run(t, "--config", p, "-vv", "sync", "test")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	if !strings.Contains(errOut, "LOGIN") || !strings.Contains(errOut, "UID FETCH") {
		t.Errorf("-vv shows no protocol trace: %q", errOut[:min(len(errOut), 500)])
	}
	if strings.Contains(errOut+out, pass) {
		t.Errorf("-vv output leaks the password")
	}
	code, out, errOut = run(t, "--config", p, "-q", "sync")
	if code != 0 || out != "" || errOut != "" {
		t.Errorf("-q printed: %d %q %q", code, out, errOut)
	}
}
