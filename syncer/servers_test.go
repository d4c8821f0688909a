package syncer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/testkit/imapfake"
)

// TestNothingPipelinedBehindLoginUnannounced: a server whose greeting does
// not announce LIST-STATUS and that drops what arrives with the login
// (Courier hands the connection to a new imapd) still syncs: the LIST goes
// out only once the capabilities after the login are known.
func TestNothingPipelinedBehindLoginUnannounced(t *testing.T) {
	srv := imapfake.StartWith(t, func(s *imapfake.Server) {
		s.Caps, s.Greeting, s.DropAfterLogin = "LIST-STATUS UIDPLUS", "IDLE", true
	})
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

// TestPermanentFlagsRespected: on a server whose PERMANENTFLAGS lack
// $Forwarded (GNU imap4d answers a STORE of it with BAD), a local P is
// never sent: the folder syncs, and the flag stays on the local file.
func TestPermanentFlagsRespected(t *testing.T) {
	srv := imapfake.StartWith(t, func(s *imapfake.Server) {
		s.Caps, s.PermanentFlags = "LIST-STATUS UIDPLUS", `\Answered \Flagged \Deleted \Seen \Draft`
	})
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
