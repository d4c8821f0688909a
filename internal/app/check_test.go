package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/testkit/imapfake"
)

// TestCheckRejectsWhatSyncWould: check and sync refuse the same configs,
// with file:line, and both say when folders matches nothing.
func TestCheckRejectsWhatSyncWould(t *testing.T) {
	d := startDovecot(t)
	dir := t.TempDir()
	t.Setenv("MDSYNC_TEST_PW", pass)
	base := dovecotConfig(dir, d, "")
	file := filepath.Join(dir, "a-file")
	must(t, os.WriteFile(file, []byte("x"), 0o600))
	for _, tc := range []struct{ name, cfg, want string }{
		{"maildir path is a file", strings.Replace(base, `path = "`+filepath.Join(dir, "mail")+`"`, `path = "`+file+`"`, 1), "config.toml:12: maildir.test: " + file + " is not a directory"},
		{"missing ca_file", strings.Replace(base, `tls = "none"`, "tls = \"none\"\nca_file = \"missing.pem\"", 1), "config.toml:7: imap.test: cannot read ca_file " + filepath.Join(dir, "missing.pem")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, dir, tc.cfg)
			for _, cmd := range []string{"check", "sync"} {
				if code, _, errOut := run(t, "--config", p, cmd); code != ExitUsage || !strings.Contains(errOut, tc.want) {
					t.Errorf("%s: exit %d, want 2 with %q:\n%s", cmd, code, tc.want, errOut)
				}
			}
		})
	}
	t.Run("patterns that match nothing", func(t *testing.T) {
		p := writeConfig(t, dir, strings.Replace(base, `folders = ["*", "!Junk", "!POP"]`, `folders = ["Arhcive/*"]`, 1))
		code, out, errOut := run(t, "--config", p, "check")
		if code != 0 || !strings.Contains(errOut, `channel.test: warning: folders = ["Arhcive/*"] (`+p+`:17) matches none of the`) {
			t.Errorf("check: exit %d\n%s\n%s", code, out, errOut)
		}
		code, out, errOut = run(t, "--config", p, "sync", "test")
		if code != 0 || !strings.Contains(out, `matches no folder on the server or in the maildir`) {
			t.Errorf("sync: exit %d\n%s\n%s", code, out, errOut)
		}
	})
}

// TestCheckBareServer: against a server with none of the extensions mdsync
// uses, check says so in words (it printed "server has )").
func TestCheckBareServer(t *testing.T) {
	fake := imapfake.StartWith(t, func(s *imapfake.Server) { s.Caps = "IDLE" })
	fake.AddMailbox("INBOX")
	dir := t.TempDir()
	conf := writeConfig(t, dir, fmt.Sprintf("state_dir = %q\n[imap.f]\nhost = \"127.0.0.1\"\nport = %d\ntls = \"none\"\nuser = \"u\"\npassword = \"p\"\n", filepath.Join(dir, "state"), fake.Port))
	code, out, errOut := run(t, "--config", conf, "check")
	if code != 0 || !strings.Contains(out, "server has none of IMAP4rev2 CONDSTORE QRESYNC UIDPLUS MOVE LIST-STATUS ESEARCH") || strings.Contains(out, "server has )") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}
