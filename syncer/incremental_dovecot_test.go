package syncer_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
	"github.com/mdsync/mdsync/syncer"
)

func TestBidirectionalChanges(t *testing.T) {
	e := newEnv(t, "")
	e.d.CreateFolder(t, user, "Archive")
	uids := e.appendMessages(t, "INBOX", 10, 8, 800)
	e.mustRun(t)
	e.converged(t)

	store, _ := maildir.OpenWith(e.root, maildir.Options{Layout: maildir.Verbatim})
	inbox, _ := store.Folder("INBOX", '/')
	archive, _ := store.Folder("Archive", '/')
	msgs, _, _ := inbox.Scan()
	// map server UIDs to local keys through the content
	keyOf := map[string]maildir.Message{}
	for _, m := range msgs {
		b, _ := os.ReadFile(m.Path(inbox))
		keyOf[dovecot.BodySHA256(b)] = m
	}
	msgFor := func(i int) maildir.Message { return keyOf[dovecot.BodySHA256(dovecot.GenMessage(10, i, 800))] }

	// server side: new mail, a flag change, an expunge
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(11, 0, 900), imap.FlagSeen)
	e.d.SetFlags(t, user, "INBOX", uids[0], imap.StoreFlagsAdd, imap.FlagFlagged)
	e.d.Expunge(t, user, "INBOX", uids[1])
	// local side: new mail, a flag change, a deletion, a move
	if _, err := inbox.Deliver(bytes.NewReader(dovecot.GenMessage(12, 0, 700)), maildir.DeliverOpts{Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inbox.SetFlags(msgFor(2), "RS"); err != nil {
		t.Fatal(err)
	}
	if err := inbox.Remove(msgFor(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := inbox.MoveTo(msgFor(4), archive); err != nil {
		t.Fatal(err)
	}
	// conflicts: local delete vs server flag (delete wins); both change flags
	if err := inbox.Remove(msgFor(5)); err != nil {
		t.Fatal(err)
	}
	e.d.SetFlags(t, user, "INBOX", uids[5], imap.StoreFlagsAdd, imap.FlagFlagged)
	if _, err := inbox.SetFlags(msgFor(6), "S"); err != nil {
		t.Fatal(err)
	}
	e.d.SetFlags(t, user, "INBOX", uids[6], imap.StoreFlagsAdd, imap.FlagAnswered)

	res := e.mustRun(t)
	snap := e.converged(t)
	if res.Fetched != 1 || res.Appended != 1 || res.Expunged != 2 || res.DeletedLocal != 1 || res.Moved != 1 {
		t.Errorf("result %+v", res)
	}
	if len(snap["INBOX"]) != 6 || len(snap["Archive"]) != 1 {
		t.Errorf("after: %s", summarize(snap))
	}
	want := map[string]string{
		dovecot.BodySHA256(dovecot.GenMessage(10, 0, 800)): "F",
		dovecot.BodySHA256(dovecot.GenMessage(10, 2, 800)): "RS",
		dovecot.BodySHA256(dovecot.GenMessage(10, 6, 800)): "RS",
	}
	for _, m := range snap["INBOX"] {
		if f, ok := want[m.SHA256]; ok && f != m.Flags {
			t.Errorf("message %s flags %q, want %q", m.SHA256[:8], m.Flags, f)
		}
	}
	if snap["Archive"][0].SHA256 != dovecot.BodySHA256(dovecot.GenMessage(10, 4, 800)) {
		t.Errorf("the moved message is not in Archive")
	}
	if !strings.Contains(e.trace.String(), "MOVE") {
		t.Errorf("a local move did not become a server MOVE")
	}
	e.mustRun(t)
	e.converged(t)
}

// TestServerOnlyChanges: with the Maildir untouched, a run loads only the
// pairs of the messages CONDSTORE reports changed, unless the message count
// shows an expunge; both ways must converge.
func TestServerOnlyChanges(t *testing.T) {
	e := newEnv(t, "")
	uids := e.appendMessages(t, "INBOX", 80, 10, 400)
	e.mustRun(t)
	// date the Maildir's directories back so that the next run trusts them
	old := time.Now().Add(-time.Hour)
	for _, sub := range []string{"cur", "new"} {
		os.Chtimes(filepath.Join(e.root, "INBOX", sub), old, old)
	}
	e.mustRun(t)
	e.d.SetFlags(t, user, "INBOX", uids[0], imap.StoreFlagsAdd, imap.FlagFlagged)
	e.d.SetFlags(t, user, "INBOX", uids[1], imap.StoreFlagsAdd, imap.FlagSeen)
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(81, 0, 400))
	res := e.mustRun(t)
	if res.FlagsLocal != 2 || res.Fetched != 1 {
		t.Fatalf("flags + new: %+v", res)
	}
	if res.PairsLoaded != 2 {
		t.Errorf("loaded %d pairs, want only the 2 of the changed messages", res.PairsLoaded)
	}
	e.converged(t)
	e.d.Expunge(t, user, "INBOX", uids[2])
	e.d.SetFlags(t, user, "INBOX", uids[3], imap.StoreFlagsAdd, imap.FlagAnswered)
	res = e.mustRun(t)
	if res.DeletedLocal != 1 || res.FlagsLocal != 1 {
		t.Fatalf("expunge + flag: %+v", res)
	}
	if res.PairsLoaded != 11 {
		t.Errorf("after an expunge loaded %d pairs, want all 11", res.PairsLoaded)
	}
	if snap := e.converged(t); len(snap["INBOX"]) != 10 {
		t.Fatalf("INBOX holds %d messages, want 10", len(snap["INBOX"]))
	}
	// That run renamed and deleted local files, so the mtimes moved; the
	// listing it saved shows that nothing else changed: again only the
	// pair of the changed message is read.
	e.d.SetFlags(t, user, "INBOX", uids[4], imap.StoreFlagsAdd, imap.FlagFlagged)
	res = e.mustRun(t)
	if res.FlagsLocal != 1 || res.PairsLoaded != 1 {
		t.Errorf("after our own renames: %+v, loaded %d pairs, want 1", res, res.PairsLoaded)
	}
	// A mail reader's rename right after that run (same mtime tick, as
	// far as we know) is seen and pushed.
	files, _ := filepath.Glob(filepath.Join(e.root, "INBOX", "new", "*"))
	if len(files) == 0 {
		t.Fatal("no unread message in INBOX/new")
	}
	if err := os.Rename(files[0], filepath.Join(e.root, "INBOX", "cur", filepath.Base(files[0])+":2,S")); err != nil {
		t.Fatal(err)
	}
	res = e.mustRun(t)
	if res.FlagsServer != 1 {
		t.Errorf("a local rename after our run: %+v", res)
	}
	e.converged(t)
}

// TestServerChangeDuringRun: a flag changed on the server after the run
// listed the folders, while it pushes a local change there, is not lost:
// the run saves the numbers its plan was made from, so the next run sees
// the change.
func TestServerChangeDuringRun(t *testing.T) {
	e := newEnv(t, "")
	uids := e.appendMessages(t, "INBOX", 90, 4, 400, imap.FlagSeen)
	e.mustRun(t)
	e.converged(t)
	// a local flag change: the plan needs no gather, the run selects the
	// folder only to push it
	flagLocally(t, e.seenFiles(t, "INBOX", 4)[0])
	changed := false
	res, err := e.run(t, func(o *syncer.Options) {
		o.Trace = func(format string, args ...any) {
			if strings.HasPrefix(format, "prepared") && !changed {
				changed = true
				e.d.SetFlags(t, user, "INBOX", uids[3], imap.StoreFlagsAdd, imap.FlagAnswered)
			}
		}
	})
	if err != nil || !changed || res.FlagsServer != 1 {
		t.Fatalf("run: %v, changed %v, %+v", err, changed, res)
	}
	res = e.mustRun(t)
	if res.FlagsLocal != 1 {
		t.Errorf("the server's change made during the last run was not brought over: %+v", res)
	}
	e.converged(t)
}

// TestBriefPairsKeepMeta: a run that read a changed folder's pairs without
// their meta (size, fingerprint, Message-ID) still records every pair it
// rewrites with that meta intact: a flag change in place, a tombstone.
func TestBriefPairsKeepMeta(t *testing.T) {
	e := newEnv(t, `expunge = "none"`)
	for i := 0; i < 3; i++ {
		e.d.Append(t, user, "INBOX", dovecot.GenMessage(870, i, 400), imap.FlagSeen)
	}
	e.mustRun(t)
	ctx := context.Background()
	pairs := func() []state.Pair {
		fs, err := e.db.Folders(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		ps, err := e.db.Pairs(ctx, fs["INBOX"].ID)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	before := map[uint32]state.Pair{}
	for _, p := range pairs() {
		if p.Fingerprint == "" || p.MessageID == "" || p.Size == 0 {
			t.Fatalf("after the first run, pair without meta: %+v", p)
		}
		before[p.UID] = p
	}
	files := e.seenFiles(t, "INBOX", -1)
	flagLocally(t, files[0])
	if err := os.Remove(files[1]); err != nil {
		t.Fatal(err)
	}
	if res := e.mustRun(t); res.FlagsServer != 1 {
		t.Fatalf("result %+v", res)
	}
	after := pairs()
	if len(after) != 3 {
		t.Fatalf("%d pairs after, want 3 (one a tombstone)", len(after))
	}
	tomb := 0
	for _, p := range after {
		b := before[p.UID]
		if p.Fingerprint != b.Fingerprint || p.MessageID != b.MessageID || p.Size != b.Size {
			t.Errorf("pair uid %d lost its meta: %+v, was %+v", p.UID, p, b)
		}
		if p.Key == "" {
			tomb++
		}
	}
	if tomb != 1 {
		t.Errorf("%d tombstones, want 1", tomb)
	}
}
