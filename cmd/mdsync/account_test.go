package main

// An account of the process tests: a user on a private Dovecot and a
// config that syncs it into a Maildir tree.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

type account struct {
	d    *dovecot.Server
	user string
	dir  string
	conf string
	root string
}

func newAccount(t *testing.T, d *dovecot.Server, user string) *account {
	t.Helper()
	return newAccountAt(t, d, user, d.IMAPPort)
}

// newAccountAt is newAccount through another port (a proxy in front of d).
func newAccountAt(t *testing.T, d *dovecot.Server, user string, port int) *account {
	t.Helper()
	d.AddUser(t, user, "pw")
	dir := t.TempDir()
	a := &account{d: d, user: user, dir: dir, root: filepath.Join(dir, "mail"), conf: filepath.Join(dir, "config.toml")}
	text := fmt.Sprintf(`state_dir = %q
[imap.t]
host = "127.0.0.1"
port = %d
tls = "none"
user = %q
password = "pw"
max_connections = 2
[maildir.t]
path = %q
[channel.t]
imap = "t"
maildir = "t"
max_delete = "100%%"
`, filepath.Join(dir, "state"), port, user, a.root)
	if err := os.WriteFile(a.conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return a
}

// sync runs the binary; fp is the failpoint ("" for none).
func (a *account) sync(t *testing.T, fp string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, "--config", a.conf, "sync")
	cmd.Env = append(os.Environ(), "MDSYNC_FAILPOINT="+fp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Run()
	return cmd.ProcessState.ExitCode(), out.String()
}

func (a *account) mustSync(t *testing.T) string {
	t.Helper()
	code, out := a.sync(t, "")
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, out)
	}
	return out
}

// assertConverged checks both sides equal, no duplicates, and exactly the
// expected contents per folder.
func (a *account) assertConverged(t *testing.T, want map[string][]string) {
	t.Helper()
	s := a.d.ServerState(t, a.user)
	l := dovecot.LocalState(t, a.root)
	if d := dovecot.Diff(s, l); d != "" {
		t.Fatalf("server and maildir differ:\n%s", d)
	}
	if dup := dovecot.Duplicates(s); len(dup) > 0 {
		t.Fatalf("duplicates: %v", dup)
	}
	for folder, shas := range want {
		got := map[string]bool{}
		for _, m := range s[folder] {
			got[m.SHA256] = true
		}
		if len(s[folder]) != len(shas) {
			t.Errorf("%s holds %d messages, want %d", folder, len(s[folder]), len(shas))
		}
		for _, sha := range shas {
			if !got[sha] {
				t.Errorf("%s lost message %s", folder, sha[:8])
			}
		}
	}
}
