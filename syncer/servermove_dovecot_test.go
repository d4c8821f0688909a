package syncer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/syncer"
)

// TestServerMoveFollowed: 50 messages moved on the server by another client
// (UID MOVE from INBOX to Archive) are moved locally, file by file: no body
// is fetched, none is left in INBOX, each file keeps its key, and one
// flagged locally before the sync keeps its flag and has it stored on the
// server. The run after changes nothing.
func TestServerMoveFollowed(t *testing.T) {
	e := newEnv(t, "")
	e.d.CreateFolder(t, user, "Archive")
	uids := e.appendMessages(t, "INBOX", 900, 60, 600, imap.FlagSeen)
	e.appendMessages(t, "Archive", 901, 5, 600)
	e.mustRun(t)
	before := e.converged(t)
	keys := func(folder string) []string {
		var ks []string
		for _, sub := range []string{"cur", "new"} {
			ents, _ := os.ReadDir(filepath.Join(e.root, folder, sub))
			for _, de := range ents {
				k, _, _ := strings.Cut(de.Name(), ":")
				ks = append(ks, k)
			}
		}
		sort.Strings(ks)
		return ks
	}
	inboxKeys := keys("INBOX")
	// a flag set locally on a message about to move (the first appended)
	first := strings.ReplaceAll(string(dovecot.GenMessage(900, 0, 600)), "\r\n", "\n")
	var flagged string
	for _, f := range e.seenFiles(t, "INBOX", 60) {
		if b, err := os.ReadFile(f); err == nil && string(b) == first {
			flagged = f
		}
	}
	if flagged == "" {
		t.Fatal("the first message's file not found")
	}
	if err := os.Rename(flagged, flagged+"F"); err != nil {
		t.Fatal(err)
	}
	c := e.d.Client(t, user, pass)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var set imap.UIDSet
	for _, u := range uids[:50] {
		set.AddNum(u)
	}
	if _, err := c.Move(set, "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()

	res := e.mustRun(t)
	if res.Fetched != 0 || res.MovedLocally != 50 || res.DeletedLocal != 0 || res.Appended != 0 || res.Expunged != 0 {
		t.Errorf("after the server move: fetched %d, moved locally %d, deleted %d, appended %d, expunged %d",
			res.Fetched, res.MovedLocally, res.DeletedLocal, res.Appended, res.Expunged)
	}
	if bodies := bodyFetches(e.trace.String()); len(bodies) > 0 {
		t.Errorf("bodies fetched: %q", bodies)
	}
	after := e.converged(t)
	if len(after["INBOX"]) != 10 || len(after["Archive"]) != 55 {
		t.Errorf("after the move: %s", summarize(after))
	}
	if len(before["INBOX"]) != 60 {
		t.Fatalf("before: %s", summarize(before))
	}
	if n := len(keys("INBOX")) + len(keys("Archive")); n != 65 {
		t.Errorf("%d files locally, want 65", n)
	}
	archive := map[string]bool{}
	for _, k := range keys("Archive") {
		archive[k] = true
	}
	moved := 0
	for _, k := range inboxKeys {
		if archive[k] {
			moved++
		}
	}
	if moved != 50 {
		t.Errorf("%d of INBOX's files kept their key in Archive, want 50", moved)
	}
	flaggedKey, _, _ := strings.Cut(filepath.Base(flagged), ":")
	if m, _ := filepath.Glob(filepath.Join(e.root, "Archive", "cur", flaggedKey+":2,*F*")); len(m) != 1 {
		all, _ := filepath.Glob(filepath.Join(e.root, "*", "*", flaggedKey+"*"))
		t.Errorf("the message flagged locally lost its flag in the move: %v\nres %+v\nwrites %v", all, res, writeCommands(e.trace.String()))
	}
	if res := e.mustRun(t); res.Fetched+res.Appended+res.DeletedLocal+res.Expunged+res.MovedLocally+res.FlagsServer+res.FlagsLocal != 0 {
		t.Errorf("the run after: %+v", res)
	}
}

// TestServerMoveInNarrowedRun: a run narrowed to one folder (a watch pass
// for the folder an IDLE saw change) stays alone when no other folder
// gained or lost messages; narrowed to the folder messages left, it takes
// in the one they went to and follows the move: nothing is deleted or
// downloaded.
func TestServerMoveInNarrowedRun(t *testing.T) {
	e := newEnv(t, "")
	e.d.CreateFolder(t, user, "Archive")
	e.d.CreateFolder(t, user, "Lists")
	uids := e.appendMessages(t, "INBOX", 910, 20, 600, imap.FlagSeen)
	e.appendMessages(t, "Lists", 911, 3, 600)
	e.mustRun(t)
	e.converged(t)
	e.d.Append(t, user, "Lists", dovecot.GenMessage(912, 0, 600))
	e.d.Append(t, user, "Archive", dovecot.GenMessage(913, 0, 600)) // new mail elsewhere is no move
	res, err := e.run(t, func(o *syncer.Options) { o.Only = []string{"Lists"} })
	if err != nil {
		t.Fatal(err)
	}
	if res.Folders != 1 || res.Fetched != 1 {
		t.Errorf("narrowed to Lists: folders %d, fetched %d, want 1 and 1", res.Folders, res.Fetched)
	}
	e.d.Move(t, user, "INBOX", "Archive", uids[:10]...)
	res, err = e.run(t, func(o *syncer.Options) { o.Only = []string{"INBOX"} })
	if err != nil {
		t.Fatal(err)
	}
	if res.Folders != 2 || res.MovedLocally != 10 || res.Fetched != 1 || res.DeletedLocal != 0 {
		t.Errorf("narrowed to INBOX: folders %d, moved locally %d, fetched %d, deleted %d; want 2, 10, 1 (Archive's new mail), 0", res.Folders, res.MovedLocally, res.Fetched, res.DeletedLocal)
	}
	// one body: Archive's new mail, its first message (UID 1)
	if bodies := bodyFetches(e.trace.String()); len(bodies) != 1 || !strings.Contains(bodies[0], "UID FETCH 1 (") {
		t.Errorf("bodies fetched: %q, want Archive's new message alone", bodies)
	}
	snap := e.converged(t)
	if len(snap["INBOX"]) != 10 || len(snap["Archive"]) != 11 || len(snap["Lists"]) != 4 {
		t.Errorf("after the narrowed runs: %s", summarize(snap))
	}
}

// TestServerMoveIntoNewFolder: another client makes a folder and files
// messages into it; the run creates the folder locally and moves the files
// there instead of downloading them.
func TestServerMoveIntoNewFolder(t *testing.T) {
	e := newEnv(t, "")
	uids := e.appendMessages(t, "INBOX", 920, 12, 600, imap.FlagSeen)
	e.mustRun(t)
	e.converged(t)
	e.d.CreateFolder(t, user, "Receipts")
	e.d.Move(t, user, "INBOX", "Receipts", uids[:5]...)
	res := e.mustRun(t)
	if res.Created != 1 || res.MovedLocally != 5 || res.Fetched != 0 || res.DeletedLocal != 0 {
		t.Errorf("created %d, moved locally %d, fetched %d, deleted %d; want 1, 5, 0, 0", res.Created, res.MovedLocally, res.Fetched, res.DeletedLocal)
	}
	if bodies := bodyFetches(e.trace.String()); len(bodies) > 0 {
		t.Errorf("bodies fetched: %q", bodies)
	}
	if snap := e.converged(t); len(snap["INBOX"]) != 7 || len(snap["Receipts"]) != 5 {
		t.Errorf("after the move: %s", summarize(snap))
	}
	if res := e.mustRun(t); res.Fetched+res.MovedLocally+res.DeletedLocal+res.Appended != 0 {
		t.Errorf("the run after: %+v", res)
	}
}

// TestServerMoveWithNewMailToo: when the folder the messages left also
// received mail, the moved ones' bodies may come with the pipeline's
// prefetch, but their identity is read from those bodies and the local
// files are still moved, under their keys, not stored twice.
func TestServerMoveWithNewMailToo(t *testing.T) {
	e := newEnv(t, "")
	e.d.CreateFolder(t, user, "Archive")
	uids := e.appendMessages(t, "INBOX", 930, 12, 600, imap.FlagSeen)
	e.appendMessages(t, "Archive", 931, 2, 600)
	e.mustRun(t)
	e.converged(t)
	keys := func(folder string) map[string]bool {
		out := map[string]bool{}
		for _, sub := range []string{"cur", "new"} {
			ents, _ := os.ReadDir(filepath.Join(e.root, folder, sub))
			for _, de := range ents {
				k, _, _ := strings.Cut(de.Name(), ":")
				out[k] = true
			}
		}
		return out
	}
	before := keys("INBOX")
	e.d.Move(t, user, "INBOX", "Archive", uids[:5]...)
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(932, 0, 600))
	res := e.mustRun(t)
	if res.MovedLocally != 5 || res.Fetched != 1 || res.DeletedLocal != 0 {
		t.Errorf("moved locally %d, fetched %d, deleted %d; want 5, 1, 0", res.MovedLocally, res.Fetched, res.DeletedLocal)
	}
	// the path under test: Archive's new messages (UIDs 3 to 7) came as
	// prefetched bodies
	if bodies := fmt.Sprint(bodyFetches(e.trace.String())); !strings.Contains(bodies, "UID FETCH 3:7 (") {
		t.Errorf("the moved messages were not prefetched; the test does not test that path: %s", bodies)
	}
	kept := 0
	for k := range keys("Archive") {
		if before[k] {
			kept++
		}
	}
	if kept != 5 {
		t.Errorf("%d of INBOX's files are in Archive under their keys, want 5", kept)
	}
	if snap := e.converged(t); len(snap["INBOX"]) != 8 || len(snap["Archive"]) != 7 {
		t.Errorf("after the move: %s", summarize(snap))
	}
}
