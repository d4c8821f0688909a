package syncer_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/imapfake"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/maildir"
)

// TestNothingPipelinedBehindLoginUnannounced: a server whose greeting does
// not announce LIST-STATUS and that drops what arrives with the login
// (Courier hands the connection to a new imapd) still syncs: the LIST goes
// out only once the capabilities after the login are known.
func TestNothingPipelinedBehindLoginUnannounced(t *testing.T) {
	srv := imapfake.Start(t)
	srv.Caps = "LIST-STATUS UIDPLUS"
	srv.Greeting = "IDLE"
	srv.DropAfterLogin = true
	srv.AddMailbox("INBOX", body(1, 300), body(2, 300))
	e := newFakeEnv(t, srv, "2s")
	res := e.mustRun(t)
	if res.Fetched != 2 {
		t.Errorf("fetched %d, want 2", res.Fetched)
	}
	// the login answer showed LIST-STATUS: the next run pipelines it, the
	// server drops it, and the run after learns never to do so again
	e.run(t)
	if _, err := e.run(t); err != nil {
		t.Errorf("the run after a dropped pipelined LIST: %v", err)
	}
}

// TestNamespacePrefix: on a server whose personal namespace has a prefix
// (Dovecot laid out like Courier: "INBOX." and '.'), a new local folder is
// created under the prefix, the server's folders are the local ones
// without it, and the next run changes nothing.
func TestNamespacePrefix(t *testing.T) {
	e := newEnvWith(t, "", "", dovecot.WithNamespace("INBOX.", "."))
	e.d.CreateFolder(t, user, "INBOX.Sent")
	e.d.Append(t, user, "INBOX.Sent", dovecot.GenMessage(200, 0, 400))
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(200, 1, 400))
	store, err := maildir.Open(e.root, maildir.Verbatim)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := store.CreateFolder("Projekte", '.')
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pf.Deliver(bytes.NewReader(dovecot.GenMessage(200, 2, 400)), maildir.DeliverOpts{Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	res := e.mustRun(t)
	if res.Fetched != 2 || res.Appended != 1 {
		t.Errorf("first run: %+v", res)
	}
	folders := e.d.Folders(t, user)
	sort.Strings(folders)
	if fmt.Sprint(folders) != "[INBOX INBOX.Projekte INBOX.Sent]" {
		t.Errorf("server folders %v", folders)
	}
	for _, dir := range []string{"INBOX", "Sent", "Projekte"} {
		if _, err := os.Stat(filepath.Join(e.root, dir, "cur")); err != nil {
			t.Errorf("local %s: %v", dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(e.root, "INBOX", "Sent")); err == nil {
		t.Error("the prefix leaked into the local tree")
	}
	res = e.mustRun(t)
	if w := writeCommands(e.trace.String()); len(w) > 0 || res.Fetched+res.Appended != 0 {
		t.Errorf("second run: %+v %v", res, w)
	}
}

// TestUnmappedLocalFolderIsReported: a local folder whose name holds the
// server's separator ("Notes.old" where levels are separated by '.') is
// not skipped silently: the run fails and says what to do.
func TestUnmappedLocalFolderIsReported(t *testing.T) {
	e := newEnvWith(t, "", "", dovecot.WithNamespace("", "."))
	store, err := maildir.Open(e.root, maildir.Verbatim)
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.CreateFolder("Notes.old", '/')
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Deliver(bytes.NewReader(dovecot.GenMessage(201, 0, 300)), maildir.DeliverOpts{}); err != nil {
		t.Fatal(err)
	}
	res, err := e.run(t, nil)
	if err == nil || !strings.Contains(err.Error(), `local folder Notes.old is not synced: the server separates folder levels with '.'`) {
		t.Errorf("err %v (result %+v)", err, res)
	}
}

// TestPermanentFlagsRespected: on a server whose PERMANENTFLAGS lack
// $Forwarded (GNU imap4d answers a STORE of it with BAD), a local P is
// never sent: the folder syncs, and the flag stays on the local file.
func TestPermanentFlagsRespected(t *testing.T) {
	srv := imapfake.Start(t)
	srv.Caps = "LIST-STATUS UIDPLUS"
	srv.PermanentFlags = `\Answered \Flagged \Deleted \Seen \Draft`
	inbox := srv.AddMailbox("INBOX", body(1, 300), body(2, 300))
	e := newFakeEnv(t, srv, "5s")
	e.mustRun(t)
	// the reader forwards both and reads one: P and S locally
	files, _ := filepath.Glob(filepath.Join(e.root, "INBOX", "new", "*"))
	if len(files) != 2 {
		t.Fatalf("%d new files", len(files))
	}
	for i, f := range files {
		flags := "P"
		if i == 0 {
			flags = "PS"
		}
		if err := os.Rename(f, filepath.Join(e.root, "INBOX", "cur", filepath.Base(f)+":2,"+flags)); err != nil {
			t.Fatal(err)
		}
	}
	for run := 0; run < 3; run++ {
		if _, err := e.run(t); err != nil {
			t.Fatalf("run %d: %v", run+2, err)
		}
	}
	got, _ := filepath.Glob(filepath.Join(e.root, "INBOX", "cur", "*:2,P*"))
	if len(got) != 2 {
		t.Errorf("the local P was lost: %v", got)
	}
	var onServer []string
	for _, m := range inbox.Messages { // the runs are over: no lock needed
		onServer = append(onServer, strings.Join(m.Flags, " "))
	}
	sort.Strings(onServer)
	if fmt.Sprint(onServer) != `[ \Seen]` {
		t.Errorf("server flags %q, want the one \\Seen and nothing else", onServer)
	}
}

// TestArrivalDate: a downloaded file's modification time is the server's
// INTERNALDATE (mutt and aerc sort "by date received" on it), on a first
// sync and for new mail prefetched by a later run.
func TestArrivalDate(t *testing.T) {
	e := newEnv(t, "")
	c := e.d.Client(t, user, pass)
	appendAt := func(i int, at time.Time) {
		t.Helper()
		m := dovecot.GenMessage(600, i, 400)
		cmd := c.Append("INBOX", int64(len(m)), &imap.AppendOptions{Time: at})
		cmd.Write(m)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	first := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	appendAt(0, first)
	e.mustRun(t)
	later := time.Date(2022, 8, 9, 10, 11, 12, 0, time.UTC)
	appendAt(1, later)
	if res := e.mustRun(t); res.Fetched != 1 {
		t.Fatalf("second run: %+v", res)
	}
	files, _ := filepath.Glob(filepath.Join(e.root, "INBOX", "new", "*"))
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	got := map[int64]bool{}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		got[fi.ModTime().Unix()] = true
	}
	if !got[first.Unix()] || !got[later.Unix()] {
		t.Errorf("file times %v, want %v and %v", got, first, later)
	}
}

// TestServerRenameFollowed: a folder of 50 messages renamed on the server
// (a webmail, a phone) is renamed locally: no body fetched, nothing left
// under the old name, nothing twice; sub-folders follow their parent.
func TestServerRenameFollowed(t *testing.T) {
	e := newEnv(t, "")
	e.d.CreateFolder(t, user, "Projects")
	e.d.CreateFolder(t, user, "Projects/Old")
	e.appendMessages(t, "Projects", 800, 50, 400, imap.FlagSeen)
	e.appendMessages(t, "Projects/Old", 801, 3, 400)
	e.mustRun(t)
	e.converged(t)
	e.d.RenameFolder(t, user, "Projects", "Archive/Projects 2025")
	res := e.mustRun(t)
	if res.Fetched != 0 || res.Appended != 0 || res.DeletedLocal != 0 || res.Expunged != 0 {
		t.Errorf("after the rename: %+v", res)
	}
	if !strings.Contains(fmt.Sprint(res.Notes), `"Projects" was renamed to "Archive/Projects 2025" on the server: renamed locally`) {
		t.Errorf("notes %q", res.Notes)
	}
	for _, gone := range []string{"Projects"} {
		if _, err := os.Stat(filepath.Join(e.root, gone)); err == nil {
			t.Errorf("%s left locally", gone)
		}
	}
	snap := e.converged(t)
	if len(snap["Archive/Projects 2025"]) != 50 || len(snap["Archive/Projects 2025/Old"]) != 3 {
		t.Errorf("after the rename: %s", summarize(snap))
	}
	if res := e.mustRun(t); res.Fetched+res.Appended+res.DeletedLocal+res.Expunged != 0 {
		t.Errorf("the run after: %+v", res)
	}
}
