package syncer_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// asForeignTool returns msg as another tool stores it locally: LF line
// endings and the given header lines added at the end of the header.
func asForeignTool(msg []byte, add ...string) []byte {
	s := strings.ReplaceAll(string(msg), "\r\n", "\n")
	head, body, _ := strings.Cut(s, "\n\n")
	for _, a := range add {
		head += "\n" + a
	}
	return []byte(head + "\n\n" + body)
}

// sharedID is a message with a Message-ID another message shares.
func sharedID(subject, body string) []byte {
	return []byte("From: x@example.org\r\nSubject: " + subject + "\r\nMessage-ID: <shared@example.org>\r\n\r\n" + body + "\r\n")
}

// TestForeignTreeRelinksByContent: a tree another tool synced (mbsync's
// X-TUID in every file, OfflineIMAP's X-OfflineIMAP, mutt's Status) under a
// fresh mdsync state is linked to the server's messages by content: nothing
// is copied again either way, files keep their names. Two different
// messages sharing a Message-ID stay two, byte-identical copies stay two on
// each side, also after the state is lost again.
func TestForeignTreeRelinksByContent(t *testing.T) {
	e := newEnv(t, "")
	store, err := maildir.OpenWith(e.root, maildir.Options{Layout: maildir.Verbatim})
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := store.CreateFolder("INBOX", '/')
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	put := func(msg []byte, flags string) {
		n++
		name := fmt.Sprintf("1700000000.%d_%d.host,U=%d:2,%s", 4000+n, n, n, flags)
		if err := os.WriteFile(filepath.Join(inbox.Path(), "cur", name), msg, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	flagSets := []struct {
		imap    []imap.Flag
		letters string
	}{{nil, ""}, {[]imap.Flag{imap.FlagSeen}, "S"}, {[]imap.Flag{imap.FlagSeen, imap.FlagFlagged}, "FS"}, {[]imap.Flag{imap.FlagAnswered, imap.FlagSeen}, "RS"}}
	// downloaded by mbsync: X-TUID locally
	for i := 0; i < 6; i++ {
		m := dovecot.GenMessage(60, i, 600+100*i)
		fs := flagSets[i%len(flagSets)]
		e.d.Append(t, user, "INBOX", m, fs.imap...)
		put(asForeignTool(m, fmt.Sprintf("X-TUID: tuid%08d", i)), fs.letters)
	}
	// uploaded by mbsync: X-TUID on the server's copy only
	up := dovecot.GenMessage(61, 0, 700)
	e.d.Append(t, user, "INBOX", []byte(strings.Replace(string(up), "\r\n\r\n", "\r\nX-TUID: uploadtuid00\r\n\r\n", 1)), imap.FlagSeen)
	put(asForeignTool(up), "S")
	// OfflineIMAP and mutt fields, one without a Message-ID
	off := dovecot.GenMessage(62, 0, 800)
	e.d.Append(t, user, "INBOX", off)
	put(asForeignTool(off, "X-OfflineIMAP: 1234567-890"), "")
	noID := noMessageID(63, 1)
	e.d.Append(t, user, "INBOX", noID, imap.FlagSeen)
	put(asForeignTool(noID, "Status: RO", "X-Status: "), "S")
	// byte-identical copies, each with its own X-TUID locally
	twin := dovecot.GenMessage(64, 0, 900)
	e.d.Append(t, user, "INBOX", twin)
	e.d.Append(t, user, "INBOX", twin)
	put(asForeignTool(twin, "X-TUID: twin00000001"), "")
	put(asForeignTool(twin, "X-TUID: twin00000002"), "")
	// two different messages that share a Message-ID, one on each side
	e.d.Append(t, user, "INBOX", sharedID("on the server", "alpha"))
	put(asForeignTool(sharedID("on the disk", "beta")), "")
	// same Message-ID and header, a different body of another length
	e.d.Append(t, user, "INBOX", []byte(strings.Replace(string(dovecot.GenMessage(65, 0, 500)), "\r\n\r\n", "\r\n\r\nserver: ", 1)))
	put(asForeignTool(dovecot.GenMessage(65, 0, 500), "X-TUID: differentbody"), "")

	before := fileNames(t, e.root)
	res := e.mustRun(t)
	if res.Linked != 11 || res.Fetched != 2 || res.Appended != 2 {
		t.Errorf("first run: %+v, want 11 linked, 2 fetched, 2 appended", res)
	}
	appends := 0
	for _, w := range writeCommands(e.trace.String()) {
		if strings.Contains(w, "APPEND") {
			appends++
		} else {
			t.Errorf("first run sent %s", w)
		}
	}
	if appends != 2 {
		t.Errorf("%d APPENDs, want 2 (the two messages that only share a Message-ID)", appends)
	}
	after := fileNames(t, e.root)
	kept := map[string]bool{}
	for _, f := range after {
		kept[f] = true
	}
	for _, f := range before {
		if !kept[f] {
			t.Errorf("file renamed or removed: %s", f)
		}
	}
	count := func(when string, wantServer, wantLocal int) {
		t.Helper()
		s, l := e.server(t)["INBOX"], e.local(t)["INBOX"]
		if len(s) != wantServer || len(l) != wantLocal {
			t.Errorf("%s: %d messages on the server, %d locally; want %d and %d", when, len(s), len(l), wantServer, wantLocal)
		}
		if d := dovecot.Duplicates(map[string][]dovecot.Msg{"INBOX": s}); len(d) != 1 {
			t.Errorf("%s: duplicates on the server: %v (want only the twin)", when, d)
		}
	}
	count("after the first run", 15, 15)
	res = e.mustRun(t)
	if w := writeCommands(e.trace.String()); len(w) > 0 || res.Fetched+res.Appended+res.Linked != 0 {
		t.Errorf("second run: %+v, sent %v", res, w)
	}

	// lose the state: everything is linked again, nothing copied
	e.db.Close()
	if err := os.Remove(filepath.Join(e.cfg.StateDir, state.FileName)); err != nil {
		t.Fatal(err)
	}
	if e.db, err = state.Open(context.Background(), e.cfg.StateDir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	res = e.mustRun(t)
	if res.Linked != 15 || res.Fetched+res.Appended != 0 {
		t.Errorf("after losing the state: %+v, want 15 linked, nothing copied", res)
	}
	if w := writeCommands(e.trace.String()); len(w) > 0 {
		t.Errorf("after losing the state the run sent %v", w)
	}
	count("after losing the state", 15, 15)
	if got := fileNames(t, e.root); fmt.Sprint(got) != fmt.Sprint(after) {
		t.Errorf("files changed after losing the state:\n%v\n%v", after, got)
	}
}

// TestMUTF7TreeIsLinked: a tree whose directories are named in modified
// UTF-7 (mbsync 1.4, OfflineIMAP), opened with Names MUTF7, is the server's
// folder of that name: nothing is created on either side, its messages are
// linked, and new mail lands in the same directory.
func TestMUTF7TreeIsLinked(t *testing.T) {
	e := newEnv(t, "")
	e.opts = maildir.Options{Names: maildir.MUTF7}
	e.d.CreateFolder(t, user, "Entwürfe")
	e.d.CreateFolder(t, user, "Archiv/Gelöscht")
	m1, m2 := dovecot.GenMessage(70, 0, 500), dovecot.GenMessage(70, 1, 500)
	e.d.Append(t, user, "Entwürfe", m1, imap.FlagDraft)
	e.d.Append(t, user, "Archiv/Gelöscht", m2, imap.FlagSeen)
	for dir, f := range map[string]struct {
		msg   []byte
		flags string
	}{"Entw&APw-rfe": {m1, "D"}, "Archiv/Gel&APY-scht": {m2, "S"}} {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(e.root, dir, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		name := filepath.Join(e.root, dir, "cur", "1700000000.1_1.host,U=1:2,"+f.flags)
		if err := os.WriteFile(name, asForeignTool(f.msg, "X-TUID: abcdefghijkl"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(e.root, "INBOX", sub), 0o700)
	}
	res := e.mustRun(t)
	if w := writeCommands(e.trace.String()); len(w) > 0 {
		t.Errorf("sent %v", w)
	}
	if res.Linked != 2 || res.Fetched+res.Appended+res.Created != 0 {
		t.Errorf("result %+v, want 2 linked and nothing else", res)
	}
	e.d.Append(t, user, "Entwürfe", dovecot.GenMessage(70, 2, 500))
	if res := e.mustRun(t); res.Fetched != 1 {
		t.Errorf("new mail: %+v", res)
	}
	if n, _ := filepath.Glob(filepath.Join(e.root, "Entw&APw-rfe", "new", "*")); len(n) != 1 {
		t.Errorf("new mail in Entw&APw-rfe/new: %v", n)
	}
	if _, err := os.Stat(filepath.Join(e.root, "Entwürfe")); err == nil {
		t.Error("a UTF-8 directory was created beside the modified UTF-7 one")
	}
}

func noMessageID(seed int64, i int) []byte {
	m := dovecot.GenMessage(seed, i, 400)
	var out []string
	for _, l := range strings.Split(string(m), "\r\n") {
		if !strings.HasPrefix(l, "Message-ID:") {
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, "\r\n"))
}

// TestLostStateRelinksByContent: with the state DB gone (or a crash between
// an upload and its record), both sides hold the same messages unpaired; the
// run links them by Message-ID + size, or by content when there is no
// Message-ID, instead of copying anything again.
func TestLostStateRelinksByContent(t *testing.T) {
	e := newEnv(t, "")
	for i := 0; i < 4; i++ {
		e.d.Append(t, user, "INBOX", dovecot.GenMessage(50, i, 500), imap.FlagSeen)
		e.d.Append(t, user, "INBOX", noMessageID(51, i))
	}
	store, _ := maildir.OpenWith(e.root, maildir.Options{Layout: maildir.Verbatim})
	inbox, _ := store.CreateFolder("INBOX", '/')
	for i := 0; i < 3; i++ {
		inbox.Deliver(bytes.NewReader(noMessageID(52, i)), maildir.DeliverOpts{Flags: "S"})
		inbox.Deliver(bytes.NewReader(dovecot.GenMessage(53, i, 500)), maildir.DeliverOpts{})
	}
	e.mustRun(t)
	before := e.converged(t)
	if len(before["INBOX"]) != 14 {
		t.Fatalf("first sync: %d messages", len(before["INBOX"]))
	}
	// lose the state
	e.db.Close()
	os.Remove(filepath.Join(e.cfg.StateDir, state.FileName))
	db, err := state.Open(context.Background(), e.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	t.Cleanup(func() { db.Close() })
	res := e.mustRun(t)
	after := e.converged(t)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after losing the state:\n%s\n%s", summarize(before), summarize(after))
	}
	if res.Linked != 14 || res.Fetched != 0 || res.Appended != 0 {
		t.Fatalf("result %+v, want 14 linked, nothing copied", res)
	}
}
