package app

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// peer returns the path of another sync tool, skipping the test when it is
// missing unless the Makefile's MDSYNC_REQUIRE_DOVECOT=1 says it must be
// there.
func peer(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(dovecot.RequireEnv) == "1" {
			t.Fatalf("%s is missing (make test installs it)", name)
		}
		t.Skipf("%s is missing", name)
	}
	return p
}

// switchAccount is a server account of 500+ messages in nested and
// non-ASCII folders, with flags, for a user who switches tools. forwarded
// adds $Forwarded to some (OfflineIMAP never syncs it: a tree it kept lacks
// the P that mdsync then adds, rightly).
func switchAccount(t *testing.T, d *dovecot.Server, u string, forwarded bool) {
	t.Helper()
	d.AddUser(t, u, pass)
	var inbox [][]byte
	for i := 0; i < 420; i++ {
		inbox = append(inbox, dovecot.GenMessage(int64(len(u)), i, 600+i%7*150))
	}
	d.BulkLoad(t, u, "INBOX", inbox)
	d.CreateFolder(t, u, "Archive/2023")
	d.CreateFolder(t, u, "Entwürfe")
	for i, f := range []string{"Archive/2023", "Entwürfe"} {
		var msgs [][]byte
		for j := 0; j < 50; j++ {
			msgs = append(msgs, dovecot.GenMessage(int64(100+i), j, 900))
		}
		d.AppendMany(t, u, f, msgs[:20])
		d.AppendMany(t, u, f, msgs[20:40], imap.FlagSeen)
		d.AppendMany(t, u, f, msgs[40:], imap.FlagSeen, imap.FlagFlagged, imap.FlagAnswered)
	}
	for uid := imap.UID(1); uid <= 60; uid++ {
		flags := [][]imap.Flag{{imap.FlagSeen}, {imap.FlagSeen, imap.FlagFlagged}, {imap.FlagAnswered, imap.FlagSeen}, {imap.FlagDraft}, {imap.Flag("$Forwarded"), imap.FlagSeen}}[uid%5]
		if !forwarded && uid%5 == 4 {
			flags = flags[1:]
		}
		d.SetFlags(t, u, "INBOX", uid, imap.StoreFlagsAdd, flags...)
	}
}

// runPeer runs another sync tool with HOME set to home.
func runPeer(t *testing.T, home string, args ...string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_STATE_HOME="+filepath.Join(home, ".local", "state"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// fileList lists every file below root with its size, sorted.
func fileList(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, fmt.Sprintf("%s %d", rel, fi.Size()))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// writesIn returns the commands of a -vv trace that download a body or
// change the server.
func writesIn(trace string) []string {
	re := regexp.MustCompile(`(?i)^\S*\s*(?:C:|>)?\s*\S+ (UID )?(APPEND|STORE|EXPUNGE|MOVE|COPY|CREATE|DELETE|RENAME)\b|BODY(\.PEEK)?\[(TEXT)?\]|RFC822[^.]`)
	var out []string
	for _, l := range strings.Split(trace, "\n") {
		if re.MatchString(l) && !strings.Contains(l, "* ") {
			out = append(out, l)
		}
	}
	return out
}

// switchedOver checks that the first mdsync run after an import changes
// nothing on either side, that a change on each side afterwards
// propagates, and that the run after that changes nothing.
func switchedOver(t *testing.T, d *dovecot.Server, u, conf, root string) {
	t.Helper()
	before := fileList(t, root)
	server := d.ServerState(t, u)
	code, out, trace := run(t, "--config", conf, "-vv", "--json", "sync")
	if code != 0 {
		t.Fatalf("first mdsync run: exit %d\n%s\n%s", code, out, lastLines(trace, 40))
	}
	if w := writesIn(trace); len(w) > 0 {
		t.Errorf("the first run downloaded or changed something:\n%s", strings.Join(w[:min(10, len(w))], "\n"))
	}
	if after := fileList(t, root); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("the first run changed local files:\n%s", diffLines(before, after))
	}
	if d := dovecot.Diff(server, d.ServerState(t, u)); d != "" {
		t.Errorf("the first run changed the server:\n%s", d)
	}
	for _, w := range []string{`"fetched": 0,`, `"appended": 0,`, `"flags_to_server": 0,`, `"flags_to_local": 0,`} {
		if !strings.Contains(out, w) {
			t.Errorf("first run summary lacks %s:\n%s", w, out)
		}
	}
	// a change on each side
	d.SetFlags(t, u, "Archive/2023", 1, imap.StoreFlagsAdd, imap.FlagFlagged)
	d.Append(t, u, "Entwürfe", dovecot.GenMessage(999, 1, 500))
	code, out, trace = run(t, "--config", conf, "-vv", "--json", "sync")
	if code != 0 || !strings.Contains(out, `"fetched": 1,`) || !strings.Contains(out, `"flags_to_local": 1,`) {
		t.Errorf("changes did not propagate: exit %d\n%s\n%s", code, out, lastLines(trace, 30))
	}
	if w := writesIn(trace); len(w) != 1 {
		t.Errorf("the trace of a run that downloads one message shows %d downloads or changes: %q", len(w), w)
	}
	code, _, trace = run(t, "--config", conf, "-vv", "sync")
	if w := writesIn(trace); code != 0 || len(w) > 0 {
		t.Errorf("the run after changed something: exit %d %v", code, w)
	}
	if dup := dovecot.Duplicates(d.ServerState(t, u)); len(dup) > 0 {
		t.Errorf("duplicates on the server: %v", dup)
	}
}

// markOneSeen marks an unread message of a folder seen, as a mail reader
// does: it moves to cur/ with an S.
func markOneSeen(t *testing.T, folder string) {
	t.Helper()
	for _, sub := range []string{"new", "cur"} {
		ms, _ := filepath.Glob(filepath.Join(folder, sub, "*"))
		for _, m := range ms {
			base := filepath.Base(m)
			k, flags, _ := strings.Cut(base, ":2,")
			if strings.Contains(flags, "S") {
				continue
			}
			must(t, os.Rename(m, filepath.Join(folder, "cur", k+":2,"+flags+"S")))
			return
		}
	}
	t.Fatalf("no unread message in %s", folder)
}

func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

func diffLines(a, b []string) string {
	in := map[string]int{}
	for _, x := range a {
		in[x]++
	}
	for _, x := range b {
		in[x]--
	}
	var out []string
	for x, n := range in {
		if n > 0 {
			out = append(out, "- "+x)
		} else if n < 0 {
			out = append(out, "+ "+x)
		}
	}
	sort.Strings(out)
	return strings.Join(out[:min(20, len(out))], "\n")
}

// TestImportMbsync: an account mbsync 1.4 synced (once with SyncState *,
// once with the default state location) is taken over by `mdsync import
// mbsync` and `mdsync sync` with nothing fetched, uploaded, flagged or
// renamed.
func TestImportMbsync(t *testing.T) {
	mbsync := peer(t, "mbsync")
	d := startDovecot(t)
	for _, syncState := range []string{"*", ""} {
		t.Run("SyncState="+syncState, func(t *testing.T) {
			u := "mb" + map[string]string{"*": "star", "": "default"}[syncState]
			switchAccount(t, d, u, true)
			home := t.TempDir()
			root := filepath.Join(home, "Mail")
			rc := filepath.Join(home, ".mbsyncrc")
			text := fmt.Sprintf("IMAPAccount acc\nHost 127.0.0.1\nPort %d\nUser %s\nPass %s\nSSLType None\n\n"+
				"IMAPStore far\nAccount acc\n\nMaildirStore near\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"+
				"Channel mail\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nExpunge Both\n", d.IMAPPort, u, pass, root, root)
			if syncState != "" {
				text += "SyncState " + syncState + "\n"
			}
			must(t, os.WriteFile(rc, []byte(text), 0o600))
			must(t, os.MkdirAll(root, 0o700))
			if syncState == "" {
				must(t, os.MkdirAll(filepath.Join(home, ".mbsync"), 0o700))
			}
			runPeer(t, home, mbsync, "-c", rc, "-a")
			// a local flag change, synced by mbsync
			markOneSeen(t, filepath.Join(root, "Archive", "2023"))
			runPeer(t, home, mbsync, "-c", rc, "-a")
			if _, err := os.Stat(filepath.Join(root, "Entw&APw-rfe")); err != nil {
				t.Fatalf("mbsync did not write the mUTF-7 directory: %v", err)
			}

			t.Setenv("HOME", home)
			t.Setenv("XDG_STATE_HOME", filepath.Join(home, ".local", "state"))
			conf := filepath.Join(home, ".config", "mdsync", "config.toml")
			code, out, errOut := run(t, "--config", conf, "import", "mbsync", rc)
			if code != 0 {
				t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
			}
			if !regexp.MustCompile(`adopted the state of 5\d\d messages in 3 folders`).MatchString(out) {
				t.Errorf("import output:\n%s", out)
			}
			cfg, _ := os.ReadFile(conf)
			if !strings.Contains(string(cfg), `names = "mutf7"`) {
				t.Errorf("config lacks names = \"mutf7\":\n%s", cfg)
			}
			switchedOver(t, d, u, conf, root)
		})
	}
}

// TestImportOfflineIMAP: the same for an account OfflineIMAP synced, with
// its default sep "." and with sep "/".
func TestImportOfflineIMAP(t *testing.T) {
	oi := peer(t, "offlineimap")
	d := startDovecot(t)
	for _, sep := range []string{".", "/"} {
		t.Run("sep="+sep, func(t *testing.T) {
			u := "oi" + map[string]string{".": "dot", "/": "slash"}[sep]
			switchAccount(t, d, u, false)
			home := t.TempDir()
			root := filepath.Join(home, "Mail")
			must(t, os.MkdirAll(root, 0o700))
			rc := filepath.Join(home, ".offlineimaprc")
			text := fmt.Sprintf("[general]\naccounts = acc\nmetadata = %s\n\n[Account acc]\nlocalrepository = local\nremoterepository = remote\n\n"+
				"[Repository local]\ntype = Maildir\nlocalfolders = %s\nsep = %s\n\n"+
				"[Repository remote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = %d\nremoteuser = %s\nremotepass = %s\nssl = no\nstarttls = no\n",
				filepath.Join(home, ".offlineimap"), root, sep, d.IMAPPort, u, pass)
			must(t, os.WriteFile(rc, []byte(text), 0o600))
			runPeer(t, home, oi, "-c", rc, "-u", "quiet")
			markOneSeen(t, filepath.Join(root, "INBOX"))
			runPeer(t, home, oi, "-c", rc, "-u", "quiet")

			t.Setenv("HOME", home)
			t.Setenv("XDG_STATE_HOME", filepath.Join(home, ".local", "state"))
			conf := filepath.Join(home, ".config", "mdsync", "config.toml")
			code, out, errOut := run(t, "--config", conf, "import", "offlineimap", rc)
			if code != 0 {
				t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
			}
			if !regexp.MustCompile(`adopted the state of 5\d\d messages in 3 folders`).MatchString(out) {
				t.Errorf("import output:\n%s", out)
			}
			switchedOver(t, d, u, conf, root)
		})
	}
}

// TestFreshConfigOverMbsyncTree: with no import at all, a fresh mdsync
// config over a tree mbsync synced (X-TUID in every file, mUTF-7 directory
// names, no mdsync state) duplicates nothing: everything is linked by
// content. Without names = "mutf7" the lookalike folder is refused with a
// message that says so, instead of being copied under a second name.
func TestFreshConfigOverMbsyncTree(t *testing.T) {
	mbsync := peer(t, "mbsync")
	d := startDovecot(t)
	const u = "fresh"
	switchAccount(t, d, u, true)
	home := t.TempDir()
	root := filepath.Join(home, "Mail")
	must(t, os.MkdirAll(root, 0o700))
	rc := filepath.Join(home, ".mbsyncrc")
	must(t, os.WriteFile(rc, []byte(fmt.Sprintf("IMAPAccount acc\nHost 127.0.0.1\nPort %d\nUser %s\nPass %s\nSSLType None\n\n"+
		"IMAPStore far\nAccount acc\n\nMaildirStore near\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"+
		"Channel mail\nFar :far:\nNear :near:\nPatterns *\nCreate Both\nSyncState *\n", d.IMAPPort, u, pass, root, root)), 0o600))
	runPeer(t, home, mbsync, "-c", rc, "-a")
	tuids, _ := filepath.Glob(filepath.Join(root, "INBOX", "*", "*"))
	if b, err := os.ReadFile(tuids[0]); err != nil || !strings.Contains(string(b), "\nX-TUID: ") {
		t.Fatalf("mbsync wrote no X-TUID into %s", tuids[0])
	}
	server := d.ServerState(t, u)
	total := 0
	for _, m := range server {
		total += len(m)
	}
	conf := writeConfig(t, home, fmt.Sprintf(`state_dir = %q
[imap.m]
host = "127.0.0.1"
port = %d
tls = "none"
user = %q
password = %q
[maildir.m]
path = %q
%%s
[channel.m]
imap = "m"
maildir = "m"
`, filepath.Join(home, "state"), d.IMAPPort, u, pass, root))
	text, _ := os.ReadFile(conf)

	must(t, os.WriteFile(conf, []byte(fmt.Sprintf(string(text), "")), 0o600))
	code, out, errOut := run(t, "--config", conf, "--json", "sync")
	if code != ExitFailed || !strings.Contains(out, `local folder \"Entw&APw-rfe\" is the modified UTF-7 spelling of the server's \"Entwürfe\"`) || !strings.Contains(out, `set names = \"mutf7\"`) {
		t.Errorf("utf8 names over a mUTF-7 tree: exit %d\n%s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, fmt.Sprintf(`"linked": %d,`, total-50)) || !strings.Contains(out, `"fetched": 0,`) || !strings.Contains(out, `"appended": 0,`) {
		t.Errorf("the other folders were not linked by content:\n%s", out)
	}
	if d := dovecot.Diff(server, d.ServerState(t, u)); d != "" {
		t.Errorf("the server changed:\n%s", d)
	}

	must(t, os.WriteFile(conf, []byte(fmt.Sprintf(string(text), `names = "mutf7"`)), 0o600))
	code, out, errOut = run(t, "--config", conf, "--json", "sync")
	if code != 0 || !strings.Contains(out, `"linked": 50,`) || !strings.Contains(out, `"fetched": 0,`) || !strings.Contains(out, `"appended": 0,`) {
		t.Errorf("with names = \"mutf7\": exit %d\n%s\n%s", code, out, errOut)
	}
	if d := dovecot.Diff(server, d.ServerState(t, u)); d != "" {
		t.Errorf("the server changed:\n%s", d)
	}
	if n := len(fileList(t, root)) - countNonMessages(t, root); n != total {
		t.Errorf("%d message files locally, want %d", n, total)
	}
	if dup := dovecot.Duplicates(d.ServerState(t, u)); len(dup) > 0 {
		t.Errorf("duplicates on the server: %v", dup)
	}
}

// countNonMessages counts the files below root that are not messages
// (mbsync's .uidvalidity and .mbsyncstate files).
func countNonMessages(t *testing.T, root string) int {
	n := 0
	for _, f := range fileList(t, root) {
		if base := filepath.Base(strings.Fields(f)[0]); strings.HasPrefix(base, ".") {
			n++
		}
	}
	return n
}

// TestImportNotesAndErrors: what mdsync cannot carry over is one note per
// setting with its line; a broken file is exit 2 with file:line; an
// existing config is not overwritten without --force.
func TestImportNotesAndErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	rc := filepath.Join(dir, "mbsyncrc")
	must(t, os.WriteFile(rc, []byte(`IMAPAccount work
Host imap.example.com
User me@example.com
PassCmd "pass show work"
SSLType IMAPS

IMAPStore work-far
Account work

MaildirStore work-near
Path ~/Mail/work/
Inbox ~/Mail/work/INBOX
SubFolders Verbatim

Channel work
Far :work-far:
Near :work-near:
Patterns * !Junk
MaxMessages 500
CopyArrivalDate yes
Create Both
SyncState *
`), 0o600))
	conf := filepath.Join(dir, "out", "config.toml")
	code, out, errOut := run(t, "--config", conf, "import", "mbsync", rc)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, w := range []string{"note: " + rc + ":19: ", "note: " + rc + ":20: ", "wrote " + conf} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	text, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`password_command = "pass show work"`, `tls = "implicit"`, `folders = ["*", "!Junk"]`} {
		if !strings.Contains(string(text), w) {
			t.Errorf("config lacks %s:\n%s", w, text)
		}
	}
	if fi, _ := os.Stat(conf); fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %o", fi.Mode().Perm())
	}
	if code, _, errOut := run(t, "--config", conf, "import", "mbsync", rc); code != ExitUsage || !strings.Contains(errOut, "exists; move it away or use --force") {
		t.Errorf("second import: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "--config", conf, "import", "mbsync", "--force", rc); code != 0 {
		t.Errorf("--force: exit %d %s", code, errOut)
	}

	broken := filepath.Join(dir, "broken")
	must(t, os.WriteFile(broken, []byte("IMAPAccount a\nHost h\nSSLType Sometimes\n"), 0o600))
	code, out, errOut = run(t, "--config", filepath.Join(dir, "b.toml"), "import", "mbsync", broken)
	if code != ExitUsage || !strings.Contains(errOut, broken+":3: ") {
		t.Errorf("broken mbsyncrc: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.toml")); err == nil {
		t.Error("a config was written for a broken mbsyncrc")
	}
	brokenOI := filepath.Join(dir, "broken-oi")
	must(t, os.WriteFile(brokenOI, []byte("[general]\naccounts = a\n\n[Account a]\nlocalrepository = l\nremoterepository = r\n\n[Repository l]\ntype = Mailbox\n"), 0o600))
	if code, _, errOut := run(t, "--config", filepath.Join(dir, "c.toml"), "import", "offlineimap", brokenOI); code != ExitUsage || !strings.Contains(errOut, brokenOI+":") {
		t.Errorf("broken offlineimaprc: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "--config", filepath.Join(dir, "d.toml"), "import", "mbsync", filepath.Join(dir, "nope")); code != ExitUsage || !strings.Contains(errOut, "nope") {
		t.Errorf("missing mbsyncrc: exit %d %s", code, errOut)
	}
}
