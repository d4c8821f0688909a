package offlineimap

import (
	"context"
	"fmt"
	"github.com/mdsync/mdsync/internal/mutf7"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/migrate"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// TestRealOfflineIMAP syncs a Dovecot account with the real offlineimap
// (sep "/", sep "." and utf8foldernames), changes a flag and deletes a
// message locally, syncs again, and checks that Read adopts exactly what is
// on the server: every message once, with its UID, the key of the local
// file holding it, its flags and the folder's UIDVALIDITY.
func TestRealOfflineIMAP(t *testing.T) {
	if _, err := exec.LookPath("offlineimap"); err != nil {
		if os.Getenv(dovecot.RequireEnv) == "1" {
			t.Fatalf("offlineimap not installed and %s=1", dovecot.RequireEnv)
		}
		t.Skip("offlineimap not installed")
	}
	cases := []struct {
		name, sep string
		utf8      bool
	}{
		{"sep-slash", "/", false},
		{"sep-dot", ".", false},
		{"utf8foldernames", "/", true},
	}
	var opts []dovecot.Option
	for _, c := range cases {
		opts = append(opts, dovecot.WithUser(c.name, "pw-"+c.name))
	}
	d := dovecot.Start(t, opts...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { testRealOfflineIMAP(t, d, c.name, c.sep, c.utf8) })
	}
}

// flagSets cycles through the flags the appended messages get. $Forwarded
// is one OfflineIMAP does not sync (its flag map has no P).
var flagSets = [][]imap.Flag{
	nil,
	{imap.FlagSeen},
	{imap.FlagSeen, imap.FlagFlagged},
	{imap.FlagAnswered, imap.FlagSeen},
	{imap.FlagDraft},
	{imap.FlagSeen, imap.FlagForwarded},
	{imap.FlagDeleted, imap.FlagSeen},
}

func testRealOfflineIMAP(t *testing.T, d *dovecot.Server, user, sep string, utf8 bool) {
	folders := []string{"INBOX", "Archive", "Archive/2023", "Entwürfe"}
	if sep == "/" {
		// With sep "." OfflineIMAP cannot sync a name with a "." (see
		// TestRealOfflineIMAPDottedFolder).
		folders = append(folders, "Dot.ted")
	}
	for _, f := range folders[1:] {
		d.CreateFolder(t, user, f)
	}
	msgIDs := map[string]map[imap.UID]string{} // folder -> UID -> Message-ID
	for i := 0; i < 30; i++ {
		f := folders[i%len(folders)]
		msg := dovecot.GenMessage(7, i, 400+i*10)
		uid := d.Append(t, user, f, msg, flagSets[i%len(flagSets)]...)
		if msgIDs[f] == nil {
			msgIDs[f] = map[imap.UID]string{}
		}
		msgIDs[f][uid] = fmt.Sprintf("<7.%d.mdsync@test.example>", i)
	}

	home := t.TempDir()
	root := filepath.Join(home, "Mail")
	meta := filepath.Join(home, "meta")
	acct := ""
	if utf8 {
		acct = "utf8foldernames = yes\n"
	}
	rc := filepath.Join(home, "offlineimaprc")
	conf := fmt.Sprintf(`[general]
accounts = acct
metadata = %s

[Account acct]
localrepository = local
remoterepository = remote
%s
[Repository local]
type = Maildir
localfolders = ~/Mail
sep = %s

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = %d
remoteuser = %s
remotepass = pw-%s
ssl = no
starttls = no
`, meta, acct, sep, d.IMAPPort, user, user)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	runOfflineIMAP(t, rc, home)

	// A local flag change and a local deletion, synced by a second run.
	inbox := localDir(root, "INBOX", sep, utf8)
	names := listMessages(t, inbox)
	if len(names) < 2 {
		t.Fatalf("INBOX has %d local messages", len(names))
	}
	// not one marked \Deleted: the EXPUNGE of the next run would take it
	deleted := func(p string) bool { _, f, _ := strings.Cut(filepath.Base(p), ":2,"); return strings.Contains(f, "T") }
	sort.SliceStable(names, func(i, j int) bool { return !deleted(names[i]) && deleted(names[j]) })
	flagged := names[0]
	base, flags, _ := strings.Cut(filepath.Base(flagged), ":2,")
	if strings.Contains(flags, "T") {
		t.Fatal("every local INBOX message is marked deleted")
	}
	newName := filepath.Join(inbox, "cur", base+":2,"+maildirFlags(flags+"FS"))
	if err := os.Rename(flagged, newName); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(names[1]); err != nil {
		t.Fatal(err)
	}
	runOfflineIMAP(t, rc, home)
	// OfflineIMAP propagates a local deletion with a plain EXPUNGE, which
	// also removes the messages that were already \Deleted on the server;
	// the third run removes those locally.
	runOfflineIMAP(t, rc, home)

	res, err := Read(context.Background(), rc, Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range res.Notes {
		t.Logf("note: %s", n)
	}
	checkConfig(t, res, d, root, sep, utf8)

	snap := d.Snapshot(t, user)
	got := map[string]migrate.Folder{}
	for _, f := range res.Folders {
		if _, dup := got[f.Name]; dup {
			t.Errorf("folder %q adopted twice", f.Name)
		}
		got[f.Name] = f
	}
	for _, name := range folders {
		msgs := snap[name]
		f, ok := got[name]
		if !ok {
			t.Errorf("folder %q not adopted", name)
			continue
		}
		delete(got, name)
		if uv := d.UIDValidity(t, user, name); f.UIDValidity != uv {
			t.Errorf("%s: UIDVALIDITY %d, server %d", name, f.UIDValidity, uv)
		}
		if f.Channel != "acct" {
			t.Errorf("%s: channel %q", name, f.Channel)
		}
		byUID := map[uint32]migrate.Pair{}
		for _, p := range f.Pairs {
			if _, dup := byUID[p.UID]; dup {
				t.Errorf("%s: UID %d paired twice", name, p.UID)
			}
			byUID[p.UID] = p
		}
		if len(f.Pairs) != len(msgs) {
			t.Errorf("%s: %d pairs, %d server messages", name, len(f.Pairs), len(msgs))
		}
		dir := localDir(root, name, sep, utf8)
		for _, m := range msgs {
			p, ok := byUID[uint32(m.UID)]
			if !ok {
				t.Errorf("%s: server UID %d not paired", name, m.UID)
				continue
			}
			want := strings.ReplaceAll(serverLetters(m.Flags), "P", "") // OfflineIMAP does not sync $Forwarded
			if p.Flags != want {
				t.Errorf("%s UID %d: flags %q, server %q (%v)", name, m.UID, p.Flags, want, m.Flags)
			}
			file := fileWithKey(t, dir, p.Key)
			if file == "" {
				t.Errorf("%s UID %d: no local file with key %q", name, m.UID, p.Key)
				continue
			}
			if id := messageID(t, file); id != msgIDs[name][m.UID] {
				t.Errorf("%s UID %d: local file %s holds %s, server message is %s", name, m.UID, file, id, msgIDs[name][m.UID])
			}
		}
	}
	for name := range got {
		t.Errorf("folder %q adopted but not on the server", name)
	}
	// The local flag change reached the server (and so the state).
	m := uidRe.FindStringSubmatch(base)
	if m == nil {
		t.Fatalf("no U= in %s", base)
	}
	found := false
	for _, sm := range snap["INBOX"] {
		if fmt.Sprint(sm.UID) == m[1] {
			found = true
			if l := serverLetters(sm.Flags); !strings.Contains(l, "F") || !strings.Contains(l, "S") {
				t.Errorf("the locally flagged message has %q on the server", l)
			}
		}
	}
	if !found {
		t.Errorf("the locally flagged message (UID %s) is not on the server", m[1])
	}

	// A message deleted locally after the last run: not adopted, noted.
	// A file moved in from another folder: not paired, noted.
	names = listMessages(t, inbox)
	if err := os.Remove(names[0]); err != nil {
		t.Fatal(err)
	}
	moved := listMessages(t, localDir(root, "Archive", sep, utf8))[0]
	if err := os.Rename(moved, filepath.Join(inbox, "cur", filepath.Base(moved))); err != nil {
		t.Fatal(err)
	}
	res2, err := Read(context.Background(), rc, Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res2.Folders {
		if f.Name == "INBOX" && len(f.Pairs) != len(snap["INBOX"])-1 {
			t.Errorf("INBOX after a local deletion: %d pairs, want %d", len(f.Pairs), len(snap["INBOX"])-1)
		}
		if f.Name == "Archive" && len(f.Pairs) != len(snap["Archive"])-1 {
			t.Errorf("Archive after a move: %d pairs, want %d", len(f.Pairs), len(snap["Archive"])-1)
		}
	}
	if !hasNote(res2.Notes, "1 message(s) OfflineIMAP knew have no local file") {
		t.Errorf("no note about the locally deleted message: %v", res2.Notes)
	}
	if !hasNote(res2.Notes, "1 file(s) carry another folder's FMD5") {
		t.Errorf("no note about the moved message: %v", res2.Notes)
	}
}

// TestRealOfflineIMAPDottedFolder shows what OfflineIMAP does with a server
// folder whose name contains the local sep ".": the first run creates an
// empty local Dot.ted and skips the folder; the second creates Dot and
// Dot/ted on the server (from the local Dot.ted) and fails; the third syncs
// the local Dot.ted with the server's Dot/ted. The server's Dot.ted is never
// synced. Read follows the state: first nothing (with a note), then Dot/ted.
func TestRealOfflineIMAPDottedFolder(t *testing.T) {
	if _, err := exec.LookPath("offlineimap"); err != nil {
		if os.Getenv(dovecot.RequireEnv) == "1" {
			t.Fatalf("offlineimap not installed and %s=1", dovecot.RequireEnv)
		}
		t.Skip("offlineimap not installed")
	}
	d := dovecot.Start(t, dovecot.WithUser("u", "pw"))
	d.CreateFolder(t, "u", "Dot.ted")
	d.Append(t, "u", "Dot.ted", dovecot.GenMessage(3, 1, 300))
	home := t.TempDir()
	rc := filepath.Join(home, "rc")
	conf := fmt.Sprintf("[general]\naccounts = a\n[Account a]\nlocalrepository = l\nremoterepository = r\n"+
		"[Repository l]\ntype = Maildir\nlocalfolders = ~/Mail\n"+
		"[Repository r]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = %d\nremoteuser = u\nremotepass = pw\nssl = no\nstarttls = no\n", d.IMAPPort)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	runOfflineIMAP(t, rc, home)
	res, err := Read(context.Background(), rc, Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Folders) != 1 || res.Folders[0].Name != "INBOX" {
		t.Errorf("after one run: %+v", res.Folders)
	}
	if !hasNote(res.Notes, "skips every server folder whose name contains") {
		t.Errorf("no note about the skipped folder: %v", res.Notes)
	}

	if out, err := offlineIMAP(rc, home); err == nil {
		t.Logf("the second run did not fail (OfflineIMAP changed?):\n%s", out)
	}
	runOfflineIMAP(t, rc, home)
	res, err = Read(context.Background(), rc, Options{Home: home})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range res.Folders {
		names = append(names, f.Name)
		if f.Name == "Dot/ted" && f.UIDValidity != d.UIDValidity(t, "u", "Dot/ted") {
			t.Errorf("Dot/ted: UIDVALIDITY %d, server %d", f.UIDValidity, d.UIDValidity(t, "u", "Dot/ted"))
		}
	}
	if fmt.Sprint(names) != "[Dot Dot/ted INBOX]" {
		t.Errorf("after three runs: folders %q (server: %q)", names, d.Folders(t, "u"))
	}
}

func offlineIMAP(rc, home string) (string, error) {
	cmd := exec.Command("offlineimap", "-c", rc, "-u", "quiet")
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.CombinedOutput()
	if err == nil && strings.Contains(string(out), "ERROR") {
		err = fmt.Errorf("errors in the output")
	}
	return string(out), err
}

func runOfflineIMAP(t *testing.T, rc, home string) {
	t.Helper()
	if out, err := offlineIMAP(rc, home); err != nil {
		t.Fatalf("offlineimap: %v\n%s", err, out)
	}
}

func checkConfig(t *testing.T, res *migrate.Result, d *dovecot.Server, root, sep string, utf8 bool) {
	t.Helper()
	c := res.Config
	if len(c.IMAP) != 1 || len(c.Maildir) != 1 || len(c.Channel) != 1 {
		t.Fatalf("config: %+v", c)
	}
	im, md, ch := c.IMAP[0], c.Maildir[0], c.Channel[0]
	if im.Host != "127.0.0.1" || im.Port != d.IMAPPort || im.TLS != "none" || im.AllowPlaintext || im.Password == "" {
		t.Errorf("imap: %+v", im)
	}
	layout, sepWant, names := "verbatim", "", "mutf7"
	if sep != "/" {
		layout, sepWant = "flat", sep
	}
	if utf8 {
		names = "utf8"
	}
	if md.Path != root || md.Layout != layout || md.Separator != sepWant || md.Names != names {
		t.Errorf("maildir: %+v", md)
	}
	if ch.IMAP != im.Name || ch.Maildir != md.Name || fmt.Sprint(ch.Folders) != "[*]" || ch.Create != "both" || ch.Expunge != "both" || ch.Remove != "none" {
		t.Errorf("channel: %+v", ch)
	}
}

// localDir is where OfflineIMAP keeps the server folder name.
func localDir(root, name, sep string, utf8 bool) string {
	if !utf8 {
		name, _ = mutf7.Encode(name)
	}
	if sep != "/" {
		name = strings.ReplaceAll(name, "/", sep)
	}
	return filepath.Join(root, filepath.FromSlash(name))
}

func listMessages(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"cur", "new"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			out = append(out, filepath.Join(dir, sub, e.Name()))
		}
	}
	sort.Strings(out)
	return out
}

func fileWithKey(t *testing.T, dir, key string) string {
	t.Helper()
	var found string
	for _, p := range listMessages(t, dir) {
		n := filepath.Base(p)
		if n == key || strings.HasPrefix(n, key+":2,") {
			if found != "" {
				t.Errorf("key %q names two files: %s and %s", key, found, p)
			}
			found = p
		}
	}
	return found
}

func messageID(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m.Header.Get("Message-ID")
}

var letterOf = map[string]string{`\draft`: "D", `\flagged`: "F", `$forwarded`: "P", `\answered`: "R", `\seen`: "S", `\deleted`: "T"}

func serverLetters(flags []string) string {
	var s string
	for _, f := range flags {
		s += letterOf[strings.ToLower(f)]
	}
	return maildirFlags(s)
}

func hasNote(notes []migrate.Note, text string) bool {
	for _, n := range notes {
		if strings.Contains(n.Text, text) {
			return true
		}
	}
	return false
}
