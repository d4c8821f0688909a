package syncer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

func TestInitialSyncThenNoop(t *testing.T) {
	e := newEnv(t, "")
	e.d.CreateFolder(t, user, "Archive/2023")
	e.d.CreateFolder(t, user, "Entwürfe")
	e.d.CreateFolder(t, user, "Big")
	for i := 0; i < 5; i++ {
		e.d.Append(t, user, "INBOX", dovecot.GenMessage(1, i, 2000), [][]imap.Flag{nil, {imap.FlagSeen}, {imap.FlagFlagged, imap.FlagSeen}, {imap.FlagAnswered}, {imap.FlagDraft, imap.Flag("$Forwarded")}}[i]...)
	}
	for i := 0; i < 3; i++ {
		e.d.Append(t, user, "Archive/2023", dovecot.GenMessage(2, i, 1000), imap.FlagSeen)
	}
	e.d.Append(t, user, "Entwürfe", dovecot.GenMessage(3, 0, 500), imap.FlagDraft)
	e.d.Append(t, user, "Big", dovecot.GenMessage(4, 0, 30<<20))

	res := e.mustRun(t)
	if res.Fetched != 10 {
		t.Errorf("fetched %d, want 10", res.Fetched)
	}
	snap := e.converged(t)
	if len(snap["Archive/2023"]) != 3 || len(snap["Entwürfe"]) != 1 || len(snap["INBOX"]) != 5 {
		t.Errorf("local tree: %s", summarize(snap))
	}
	// folders on disk as mutt expects, non-ASCII names in UTF-8
	for _, p := range []string{"INBOX/cur", "INBOX/new", "Archive/2023/cur", "Entwürfe/cur", "Big/new"} {
		if _, err := os.Stat(filepath.Join(e.root, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	before := fileNames(t, e.root)
	// an unread message lands in new/
	if n, _ := filepath.Glob(filepath.Join(e.root, "INBOX", "new", "*")); len(n) != 1 {
		t.Errorf("INBOX/new holds %d files, want 1 (the unread, unflagged one)", len(n))
	}

	for run := 0; run < 2; run++ {
		res = e.mustRun(t)
		if w := writeCommands(e.trace.String()); len(w) > 0 {
			t.Errorf("run %d: no-change run sent write commands: %v", run+2, w)
		}
		if res.Fetched+res.Appended+res.FlagsLocal+res.FlagsServer+res.DeletedLocal+res.Expunged+res.Moved != 0 {
			t.Errorf("run %d: no-change run changed things: %+v", run+2, res)
		}
		if after := fileNames(t, e.root); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("run %d: files renamed:\n%v\n%v", run+2, before, after)
		}
	}
	// the third run skips every folder without selecting it
	if strings.Contains(e.trace.String(), " SELECT ") {
		t.Errorf("a no-change run selected a folder:\n%s", e.trace.String())
	}
	if res.Unchanged != 4 {
		t.Errorf("unchanged folders = %d, want 4", res.Unchanged)
	}
}
