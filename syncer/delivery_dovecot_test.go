package syncer_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

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

// TestCleanTmpOnDelivery: a run that delivers into a folder removes what
// interrupted deliveries left in its tmp/ more than 36 hours ago, and
// nothing younger (another program may be writing it).
func TestCleanTmpOnDelivery(t *testing.T) {
	e := newEnv(t, "")
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(1400, 0, 400), imap.FlagSeen)
	e.mustRun(t)
	tmp := filepath.Join(e.root, "INBOX", "tmp")
	check := dovecot.LeftInTmp(t, tmp)
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(1400, 1, 400))
	if res := e.mustRun(t); res.Fetched != 1 {
		t.Fatalf("fetched %d, want 1", res.Fetched)
	}
	check()
	e.converged(t)
}
