package syncer_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/syncer"
)

// TestPipelinedGather: the server side of changed folders is gathered with
// their SELECT and FETCH pipelined on one connection; a folder that needs
// more (an expunge to find, a UIDVALIDITY change, a message new on both
// sides to match) is gathered again on its own, and every case converges
// with nothing lost or duplicated.
func TestPipelinedGather(t *testing.T) {
	e := newEnv(t, "")
	folders := []string{"A-flags", "B-expunge", "C-new", "D-uidvalidity", "E-match", "F-flags"}
	uids := map[string][]imap.UID{}
	msgs := map[string][][]byte{}
	for fi, f := range folders {
		e.d.CreateFolder(t, user, f)
		for i := 0; i < 5; i++ {
			m := dovecot.GenMessage(int64(500+fi), i, 500)
			msgs[f] = append(msgs[f], m)
			uids[f] = append(uids[f], e.d.Append(t, user, f, m, imap.FlagSeen))
		}
	}
	e.mustRun(t)
	e.converged(t)
	e.d.SetFlags(t, user, "A-flags", uids["A-flags"][1], imap.StoreFlagsAdd, imap.FlagFlagged)
	e.d.Expunge(t, user, "B-expunge", uids["B-expunge"][2])
	e.d.Append(t, user, "C-new", dovecot.GenMessage(600, 0, 500))
	e.d.DeleteFolder(t, user, "D-uidvalidity")
	e.d.CreateFolder(t, user, "D-uidvalidity")
	for _, m := range msgs["D-uidvalidity"] {
		e.d.Append(t, user, "D-uidvalidity", m, imap.FlagSeen)
	}
	both := dovecot.GenMessage(601, 0, 500)
	e.d.Append(t, user, "E-match", both, imap.FlagSeen)
	store, _ := maildir.OpenWith(e.root, maildir.Options{Layout: maildir.Verbatim})
	lf, _ := store.Folder("E-match", '/')
	if _, err := lf.Deliver(bytes.NewReader(both), maildir.DeliverOpts{Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	e.d.SetFlags(t, user, "F-flags", uids["F-flags"][0], imap.StoreFlagsDel, imap.FlagSeen)

	res := e.mustRun(t)
	t.Logf("pipelined %d", res.Pipelined)
	if res.Pipelined < 3 {
		t.Errorf("only %d folders gathered in the pipeline", res.Pipelined)
	}
	if res.Fetched != 1 || res.DeletedLocal != 1 || res.FlagsLocal != 2 || res.Appended != 0 {
		t.Errorf("result %+v", res)
	}
	snap := e.converged(t)
	want := map[string]int{"A-flags": 5, "B-expunge": 4, "C-new": 6, "D-uidvalidity": 5, "E-match": 6, "F-flags": 5}
	for f, n := range want {
		if len(snap[f]) != n {
			t.Errorf("%s holds %d messages, want %d", f, len(snap[f]), n)
		}
	}
	if res = e.mustRun(t); res.Fetched+res.Appended+res.FlagsLocal+res.FlagsServer+res.DeletedLocal+res.Expunged != 0 {
		t.Errorf("the run after did something: %+v", res)
	}
	e.converged(t)
}

// TestNextSelectPipelined: on one connection, the SELECT of the next folder
// to push to goes out right behind the previous folder's STOREs and UID
// EXPUNGE (no round trip of its own), and every folder converges.
func TestNextSelectPipelined(t *testing.T) {
	e := newEnvWith(t, "max_connections = 1", "")
	d := e.d
	folders := []string{"A", "B", "C", "D"}
	for fi, f := range folders {
		d.CreateFolder(t, user, f)
		for i := 0; i < 4; i++ {
			d.Append(t, user, f, dovecot.GenMessage(int64(800+fi), i, 400), imap.FlagSeen)
		}
	}
	e.mustRun(t)
	e.converged(t)
	for _, f := range folders {
		files := e.seenFiles(t, f, 4)
		flagLocally(t, files[0])
		if err := os.Remove(files[1]); err != nil {
			t.Fatal(err)
		}
	}
	res := e.mustRun(t)
	if res.FlagsServer != 4 || res.Expunged != 4 {
		t.Fatalf("result %+v", res)
	}
	snap := e.converged(t)
	for _, f := range folders {
		if len(snap[f]) != 3 {
			t.Errorf("%s holds %d messages, want 3", f, len(snap[f]))
		}
	}
	// the trace shows a SELECT sent before the previous UID EXPUNGE was
	// answered, on the same connection (the lines of several interleave,
	// each tagged): on each connection all folders but its first
	lines := strings.Split(e.trace.String(), "\n")
	pending, overlapped, selecting := map[string]string{}, 0, map[string]bool{}
	for _, l := range lines {
		conn, _, _ := strings.Cut(l, " ")
		f := traceFields(l)
		if len(f) >= 3 && f[1] == "UID" && f[2] == "EXPUNGE" {
			pending[conn] = f[0]
		}
		if len(f) >= 2 && f[1] == "SELECT" {
			selecting[conn] = true
			if pending[conn] != "" {
				overlapped++
			}
		}
		if len(f) >= 2 && f[0] == pending[conn] && (f[1] == "OK" || f[1] == "NO" || f[1] == "BAD") {
			pending[conn] = ""
		}
	}
	t.Logf("overlapped %d on %d connections", overlapped, len(selecting))
	if want := len(folders) - len(selecting); !raceEnabled && (overlapped < want || overlapped == 0) {
		t.Errorf("%d SELECTs went out behind an unanswered UID EXPUNGE on %d connections, want %d:\n%s", overlapped, len(selecting), want, e.trace.String())
	}
	if res = e.mustRun(t); res.FlagsServer+res.Expunged+res.FlagsLocal+res.DeletedLocal != 0 {
		t.Errorf("the run after did something: %+v", res)
	}
}

// TestNextSelectThenRefetch: a folder's fetch has sent the next folder's
// SELECT ahead when a message it asked for does not come back (here it
// was expunged meanwhile): the folder is selected again for the second
// try, and the next folder selects anew before it writes anything.
func TestNextSelectThenRefetch(t *testing.T) {
	e := newEnvWith(t, "max_connections = 1", "")
	d := e.d
	for fi, f := range []string{"A", "B"} {
		d.CreateFolder(t, user, f)
		for i := 0; i < 3; i++ {
			d.Append(t, user, f, dovecot.GenMessage(int64(850+fi), i, 400), imap.FlagSeen)
		}
	}
	e.mustRun(t)
	e.converged(t)
	// A: two new messages on the server; B: a local flag change
	var gone imap.UID
	for i := 0; i < 2; i++ {
		gone = d.Append(t, user, "A", dovecot.GenMessage(852, i, 400))
	}
	flagLocally(t, e.seenFiles(t, "B", -1)[0])
	expunged := false
	res, err := e.run(t, func(o *syncer.Options) {
		o.Trace = func(format string, args ...any) {
			if !expunged && strings.HasSuffix(format, "gathered") && len(args) == 2 && args[1] == "A" {
				expunged = true
				d.Expunge(t, user, "A", gone) // after the plan, before the fetch
			}
		}
	})
	if err != nil || !expunged {
		t.Fatalf("run: %v (expunged %v)", err, expunged)
	}
	if res.Fetched != 1 || res.FlagsServer != 1 {
		t.Errorf("result %+v", res)
	}
	var sels []string
	storeAfter := ""
	for _, l := range strings.Split(e.trace.String(), "\n") {
		f := traceFields(l)
		if len(f) >= 3 && f[1] == "SELECT" {
			sels = append(sels, strings.Trim(f[2], `"`))
		}
		if len(f) >= 3 && f[1] == "UID" && f[2] == "STORE" {
			storeAfter = sels[len(sels)-1]
		}
	}
	if !raceEnabled && (strings.Join(sels, " ") != "A B A B" || storeAfter != "B") {
		t.Errorf("SELECTs %v, the STORE after SELECT %s; want A B A B, B", sels, storeAfter)
	}
	e.mustRun(t)
	snap := e.converged(t)
	if len(snap["A"]) != 4 || len(snap["B"]) != 3 {
		t.Errorf("A %d, B %d messages", len(snap["A"]), len(snap["B"]))
	}
}

// TestPrefetchNewMail: new server mail in folders gathered in the pipeline
// comes with its bodies there (prefetched into tmp/, then renamed in): no
// connection of its own, the flags as on the server, nothing left in
// tmp/. A prefetched body the plan does not take (the message vanished
// before the folder's plan) is removed; a folder with local changes is
// gathered by a worker and fetches as usual (its new message is the same
// as a new local one: the two are linked). Mail that arrives after the
// LIST is not lost either.
func TestPrefetchNewMail(t *testing.T) {
	e := newEnv(t, "")
	folders := []string{"A", "B", "B2-vanish", "C-match", "D-flags", "E-late", "F-quiet"}
	uids := map[string][]imap.UID{}
	for fi, f := range folders {
		e.d.CreateFolder(t, user, f)
		uids[f] = e.appendMessages(t, f, int64(1200+fi), 3, 500, imap.FlagSeen)
	}
	e.mustRun(t)
	e.converged(t)

	e.d.Append(t, user, "A", dovecot.GenMessage(1300, 0, 500))
	e.d.Append(t, user, "A", dovecot.GenMessage(1300, 1, 500), imap.FlagSeen, imap.FlagFlagged)
	e.d.Append(t, user, "A", dovecot.GenMessage(1300, 2, 500), imap.FlagSeen)
	e.d.Append(t, user, "B", dovecot.GenMessage(1301, 0, 500))
	e.d.Append(t, user, "B", dovecot.GenMessage(1301, 1, 70_000), imap.FlagAnswered)
	both := dovecot.GenMessage(1302, 0, 500)
	e.d.Append(t, user, "C-match", both, imap.FlagSeen)
	e.d.Append(t, user, "C-match", dovecot.GenMessage(1302, 1, 500))
	store, _ := maildir.OpenWith(e.root, maildir.Options{Layout: maildir.Verbatim})
	lf, _ := store.Folder("C-match", '/')
	if _, err := lf.Deliver(bytes.NewReader(both), maildir.DeliverOpts{Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	// a flag change below the new message: asked in a FETCH of its own
	e.d.SetFlags(t, user, "D-flags", uids["D-flags"][1], imap.StoreFlagsAdd, imap.FlagFlagged)
	e.d.Append(t, user, "D-flags", dovecot.GenMessage(1303, 0, 500), imap.FlagDraft)
	e.d.Append(t, user, "E-late", dovecot.GenMessage(1304, 0, 500))
	// an expunge makes the pipeline leave the folder to a worker; the new
	// message, prefetched, is gone by then
	vanish := e.d.Append(t, user, "B2-vanish", dovecot.GenMessage(1305, 0, 500))
	e.d.Expunge(t, user, "B2-vanish", uids["B2-vanish"][0])

	late := dovecot.GenMessage(1304, 1, 500)
	res, err := e.run(t, func(o *syncer.Options) {
		o.Trace = func(format string, args ...any) {
			switch format {
			case "listed": // after LIST-STATUS, before the gather
				e.d.Append(t, user, "E-late", late)
			case "gathered ahead %d":
				e.d.Expunge(t, user, "B2-vanish", vanish)
			}
		}
	})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	// B2-vanish's new body was asked in the pipeline (then not taken)
	// (per connection: the lines of several interleave, each tagged; the
	// library writes the items in any order)
	prefetchOf := regexp.MustCompile(fmt.Sprintf(`UID FETCH %d \((?:(?:UID|FLAGS|INTERNALDATE) )+BODY\.PEEK\[\]\)`, vanish))
	asked, in := false, map[string]bool{}
	for _, l := range strings.Split(e.trace.String(), "\n") {
		conn, _, _ := strings.Cut(l, " ")
		if strings.Contains(l, " SELECT ") {
			in[conn] = strings.Contains(l, `SELECT "B2-vanish"`)
		}
		asked = asked || in[conn] && prefetchOf.MatchString(l)
	}
	if !asked && !raceEnabled {
		t.Errorf("B2-vanish's new message was not prefetched; the test does not test a body the plan leaves:\n%s", e.trace.String())
	}
	if res.Fetched != 9 || res.Linked != 1 || res.Appended != 0 || res.FlagsLocal != 1 || res.DeletedLocal != 1 {
		t.Errorf("fetched %d linked %d appended %d flags to local %d deleted locally %d, want 9, 1, 0, 1, 1: %+v", res.Fetched, res.Linked, res.Appended, res.FlagsLocal, res.DeletedLocal, res)
	}
	// A 3, B 2, D 1, E 1 (the late one is not among LIST-STATUS's new
	// ones: it is fetched on its own); not C's (gathered by a worker)
	if res.Prefetched != 7 {
		t.Errorf("prefetched %d, want 7", res.Prefetched)
	}
	snap := e.converged(t)
	want := map[string]int{"A": 6, "B": 5, "B2-vanish": 2, "C-match": 5, "D-flags": 4, "E-late": 5, "F-quiet": 3}
	for f, n := range want {
		if len(snap[f]) != n {
			t.Errorf("%s holds %d messages, want %d", f, len(snap[f]), n)
		}
		if left, _ := os.ReadDir(filepath.Join(e.root, f, "tmp")); len(left) > 0 {
			t.Errorf("%s/tmp holds %d files after the run", f, len(left))
		}
	}
	if n, _ := filepath.Glob(filepath.Join(e.root, "A", "new", "*")); len(n) != 1 {
		t.Errorf("A/new holds %d messages, want the unread, unflagged one", len(n))
	}
	if n, _ := filepath.Glob(filepath.Join(e.root, "B", "cur", "*:2,R")); len(n) != 1 {
		t.Errorf("B/cur holds %d answered unread messages, want 1", len(n))
	}
	if res = e.mustRun(t); res.Fetched+res.Appended+res.FlagsLocal+res.FlagsServer+res.DeletedLocal+res.Expunged+res.Linked != 0 {
		t.Errorf("the run after did something: %+v", res)
	}
	e.converged(t)
}
