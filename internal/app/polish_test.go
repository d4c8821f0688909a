package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/lock"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// TestDryRunWritesNothing: a dry run on a fresh machine creates no state
// dir, no database, no lock file and no Maildir root, and still prints the
// plan; on an existing state it changes no file of it.
func TestDryRunWritesNothing(t *testing.T) {
	d := startDovecot(t)
	d.Append(t, user, "INBOX", dovecot.GenMessage(500, 0, 300))
	d.Append(t, popUser, "INBOX", dovecot.GenMessage(501, 0, 300))
	t.Setenv("MDSYNC_TEST_PW", pass)
	dir := t.TempDir()
	conf := writeConfig(t, dir, dovecotConfig(dir, d, ""))
	code, out, errOut := run(t, "--config", conf, "--dry-run", "sync")
	if code != 0 || !strings.Contains(out, "fetch") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, p := range []string{"state", "mail"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("the dry run created %s", p)
		}
	}
	if code, _, errOut := run(t, "--config", conf, "-q", "sync"); code != 0 {
		t.Fatalf("sync: %d %s", code, errOut)
	}
	before := fileList(t, dir)
	d.Append(t, user, "INBOX", dovecot.GenMessage(500, 1, 300))
	if code, _, errOut := run(t, "--config", conf, "--dry-run", "sync"); code != 0 {
		t.Fatalf("second dry run: %d %s", code, errOut)
	}
	if after := fileList(t, dir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("the dry run changed files:\n%s", diffLines(before, after))
	}
}

// TestJSONOnEveryExit: with --json every exit writes one JSON object with
// ok, the exit code and the error: a config error, a usage error, a held
// lock, an unknown command.
func TestJSONOnEveryExit(t *testing.T) {
	dir := t.TempDir()
	bad := writeConfig(t, dir, "[imap.a]\nhost = \"h\"\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"config error", []string{"--config", bad, "--json", "sync"}, ExitUsage, "config.toml:1"},
		{"unknown command", []string{"--json", "synk"}, ExitUsage, `did you mean \"sync\"`},
		{"unknown flag", []string{"--json", "sync", "--frobnicate"}, ExitUsage, "flag provided but not defined"},
		{"flag after a name", []string{"--config", bad, "--json", "status", "x"}, ExitUsage, "config.toml:1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := run(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			var obj struct {
				OK       bool   `json:"ok"`
				ExitCode int    `json:"exit_code"`
				Error    string `json:"error"`
			}
			if err := json.Unmarshal([]byte(out), &obj); err != nil || obj.OK || obj.ExitCode != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("stdout %q (%v), want one JSON object with ok false, exit_code %d and %q", out, err, tc.code, tc.want)
			}
		})
	}
}

// TestCLIBasics: did-you-mean, one usage error on stderr, the flag-after-
// name hint, one version line for both spellings, status's exit code.
func TestCLIBasics(t *testing.T) {
	code, out, errOut := run(t, "synk")
	if code != ExitUsage || out != "" || errOut != "mdsync: no command \"synk\"; did you mean \"sync\"? (see mdsync --help)\n" {
		t.Errorf("synk: %d %q %q", code, out, errOut)
	}
	code, out, errOut = run(t, "-V")
	if code != ExitUsage || out != "" || strings.Count(errOut, "\n") != 1 {
		t.Errorf("-V: %d %q %q", code, out, errOut)
	}
	dir := t.TempDir()
	conf := writeConfig(t, dir, "[imap.a]\nhost = \"h\"\nuser = \"u\"\npassword_env = \"X\"\n[maildir.m]\npath = \"m\"\n[channel.me]\nimap = \"a\"\nmaildir = \"m\"\n")
	code, _, errOut = run(t, "--config", conf, "sync", "me", "-n")
	if code != ExitUsage || !strings.Contains(errOut, `"-n" comes after a name: flags go before the names`) {
		t.Errorf("flag after a name: %d %q", code, errOut)
	}
	_, v1, _ := run(t, "--version")
	_, v2, _ := run(t, "version")
	if v1 != v2 || !strings.HasPrefix(v1, "mdsync ") {
		t.Errorf("--version %q, version %q", v1, v2)
	}
	_, help, _ := run(t, "--help")
	if strings.Contains(help, "(default: false)") || !strings.Contains(help, "EXIT STATUS") {
		t.Errorf("help:\n%s", help)
	}
}

// TestStatusExitCode: status exits 1 when the last run of something
// failed, says what a POP account holds, and --json on a held lock is one
// object too.
func TestStatusExitCode(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MDSYNC_TEST_PW", pass)
	conf := writeConfig(t, dir, strings.ReplaceAll(`state_dir = "DIR/state"
[imap.a]
host = "127.0.0.1"
port = PORT
tls = "none"
user = "u"
password_env = "MDSYNC_TEST_PW"
[maildir.m]
path = "DIR/mail"
[channel.c]
imap = "a"
maildir = "m"
`, "DIR", dir))
	conf = writeConfig(t, dir, strings.Replace(mustRead(t, conf), "PORT", itoa(freePort(t)), 1))
	if code, _, _ := run(t, "--config", conf, "-q", "sync"); code != ExitTemporary {
		t.Fatalf("sync toward nothing: exit %d", code)
	}
	code, out, _ := run(t, "--config", conf, "status")
	if code != ExitFailed || !strings.Contains(out, "channel c: FAILED at ") {
		t.Errorf("status after a failure: exit %d %q", code, out)
	}
	l, err := lockAcquire(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer l()
	code, out, _ = run(t, "--config", conf, "--json", "sync")
	if code != ExitTemporary || !strings.Contains(out, `"exit_code":75`) || !strings.Contains(out, `"ok":false`) {
		t.Errorf("lock held: exit %d %q", code, out)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func itoa(n int) string { return strconv.Itoa(n) }

func lockAcquire(dir string) (func(), error) {
	l, err := lock.Acquire(dir)
	if err != nil {
		return nil, err
	}
	return func() { l.Release() }, nil
}

// TestList: list shows each folder of both sides with its counts and what
// sync does with it, and changes nothing.
func TestList(t *testing.T) {
	d := startDovecot(t)
	d.CreateFolder(t, user, "Archive")
	d.CreateFolder(t, user, "Junk")
	d.Append(t, user, "Archive", dovecot.GenMessage(700, 0, 300))
	d.Append(t, user, "Archive", dovecot.GenMessage(700, 1, 300))
	t.Setenv("MDSYNC_TEST_PW", pass)
	dir := t.TempDir()
	conf := writeConfig(t, dir, dovecotConfig(dir, d, ""))
	code, out, errOut := run(t, "--config", conf, "list", "test")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	for _, w := range []string{"channel test:", "Archive", "2        -  new: created on the other side by sync", "Junk", "not selected by folders"} {
		if !strings.Contains(out, w) {
			t.Errorf("list lacks %q:\n%s", w, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "mail")); err == nil {
		t.Error("list created the Maildir root")
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
		t.Error("list created the state")
	}
	code, out, _ = run(t, "--config", conf, "--json", "list", "test")
	if code != 0 || !strings.Contains(out, `"name": "Archive"`) || !strings.Contains(out, `"server": 2`) {
		t.Errorf("list --json: %d\n%s", code, out)
	}
}

// TestHelpGolden: the help texts are what the golden files hold (go test
// -run TestHelpGolden -update rewrites them).
func TestHelpGolden(t *testing.T) {
	for _, tc := range []struct {
		args []string
		file string
	}{
		{[]string{"--help"}, "help.golden"},
		{[]string{"sync", "--help"}, "help-sync.golden"},
		{[]string{"import", "--help"}, "help-import.golden"},
		{[]string{"login", "--help"}, "help-login.golden"},
		{[]string{"watch", "--help"}, "help-watch.golden"},
	} {
		code, out, errOut := run(t, tc.args...)
		if code != 0 || errOut != "" {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
		golden := filepath.Join("testdata", tc.file)
		if *update {
			if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("%v:\n%s\nwant:\n%s", tc.args, out, want)
		}
	}
}
