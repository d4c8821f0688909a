package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// TestMissingRootFailsLoudly: a Maildir root that is moved away, replaced by
// an empty directory (an unmounted disk), or a relative path run from
// another directory, fails the channel and the POP account with exit 1 and
// a message that says what is wrong and what to do; nothing changes on the
// server. Putting the root back converges with nothing downloaded twice;
// --redownload downloads into an empty root on purpose.
func TestMissingRootFailsLoudly(t *testing.T) {
	d := startDovecot(t)
	for i := 0; i < 3; i++ {
		d.Append(t, user, "INBOX", dovecot.GenMessage(80, i, 400))
		d.Append(t, popUser, "INBOX", dovecot.GenMessage(81, i, 400))
	}
	t.Setenv("MDSYNC_TEST_PW", pass)
	dir := t.TempDir()
	conf := writeConfig(t, dir, dovecotConfig(dir, d, ""))
	root := filepath.Join(dir, "mail")
	if code, _, errOut := run(t, "--config", conf, "-q", "sync"); code != 0 {
		t.Fatalf("first sync: exit %d: %s", code, errOut)
	}
	server := d.ServerState(t, user)

	cases := []struct {
		name   string
		break_ func(t *testing.T)
		mend   func(t *testing.T)
		want   []string
	}{
		{"moved away",
			func(t *testing.T) { must(t, os.Rename(root, root+".bak")) },
			func(t *testing.T) { must(t, os.Rename(root+".bak", root)) },
			[]string{root + " does not exist", "holds 3 messages", "mount it", "set path (" + conf + ":", "mdsync sync --redownload test"}},
		{"replaced by an empty directory",
			func(t *testing.T) { must(t, os.Rename(root, root+".bak")); must(t, os.Mkdir(root, 0o700)) },
			func(t *testing.T) { must(t, os.Remove(root)); must(t, os.Rename(root+".bak", root)) },
			[]string{root + " holds no Maildir folder", "mdsync sync --redownload test"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.break_(t)
			d.Append(t, user, "INBOX", dovecot.GenMessage(82, len(tc.name), 400))
			code, out, errOut := run(t, "--config", conf, "-q", "sync")
			if code != ExitFailed {
				t.Errorf("exit %d, want 1 (stdout %q stderr %q)", code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if !strings.Contains(errOut, "pop isp:") {
				t.Errorf("the POP account delivering there did not fail too:\n%s", errOut)
			}
			if _, err := os.Stat(filepath.Join(root, "INBOX")); err == nil {
				t.Error("the run created INBOX in the broken root")
			}
			if got := d.ServerState(t, user); len(got["INBOX"]) != len(server["INBOX"])+1 {
				t.Errorf("the server changed: %d messages in INBOX", len(got["INBOX"]))
			}
			server = d.ServerState(t, user)
			tc.mend(t)
			code, out, errOut = run(t, "--config", conf, "--json", "sync")
			if code != 0 || !strings.Contains(out, `"fetched": 1,`) {
				t.Errorf("after mending: exit %d, want the one new message fetched: %s %s", code, out, errOut)
			}
		})
	}

	t.Run("relative path from another directory", func(t *testing.T) {
		rel := writeConfig(t, dir, strings.Replace(dovecotConfig(dir, d, ""), "path = "+`"`+root+`"`, `path = "mail"`, 1))
		t.Chdir(t.TempDir())
		if code, out, errOut := run(t, "--config", rel, "--json", "sync"); code != 0 || !strings.Contains(out, `"fetched": 0,`) {
			t.Errorf("a relative path is not the config's directory's: exit %d %s %s", code, out, errOut)
		}
		if _, err := os.Stat("mail"); err == nil {
			t.Error("mail created in the current directory")
		}
	})

	t.Run("redownload", func(t *testing.T) {
		must(t, os.Rename(root, root+".old"))
		code, out, errOut := run(t, "--config", conf, "--json", "sync", "--redownload", "test", "--redownload", "isp")
		if code != 0 {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
		local := dovecot.LocalState(t, root)
		if len(local["INBOX"]) != len(server["INBOX"]) || len(local["POP"]) != 3 {
			t.Errorf("redownloaded %d of %d INBOX messages and %d of 3 POP ones", len(local["INBOX"]), len(server["INBOX"]), len(local["POP"]))
		}
		if got := d.ServerState(t, user); dovecot.Diff(got, server) != "" {
			t.Errorf("the server changed: %s", dovecot.Diff(got, server))
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
