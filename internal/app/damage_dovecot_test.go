package app

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/state"
)

// TestDamagedStateIsRebuilt: garbage written into the middle of the state
// DB does not fail every run from then on: the damaged file is set aside
// (kept), one line says so, and the run rebuilds the state by content, with
// nothing copied twice and nothing lost.
func TestDamagedStateIsRebuilt(t *testing.T) {
	d := startDovecot(t)
	for i := 0; i < 300; i++ {
		d.Append(t, user, []string{"INBOX", "Archive"}[i%2], dovecot.GenMessage(90, i, 300))
		if i == 0 {
			d.CreateFolder(t, user, "Archive")
		}
	}
	t.Setenv("MDSYNC_TEST_PW", pass)
	dir := t.TempDir()
	conf := writeConfig(t, dir, dovecotConfig(dir, d, ""))
	if code, _, errOut := run(t, "--config", conf, "-q", "sync", "test"); code != 0 {
		t.Fatalf("first sync: exit %d %s", code, errOut)
	}

	path := filepath.Join(dir, "state", state.FileName)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	garbage := make([]byte, fi.Size()/3)
	rand.New(rand.NewSource(1)).Read(garbage)
	if _, err := f.WriteAt(garbage, fi.Size()/3); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// a change in every message: the run must read every pair
	for _, folder := range []string{"INBOX", "Archive"} {
		for uid := imap.UID(1); uid <= 150; uid++ {
			d.SetFlags(t, user, folder, uid, imap.StoreFlagsAdd, imap.FlagFlagged)
		}
	}
	server := d.ServerState(t, user)

	code, out, errOut := run(t, "--config", conf, "--json", "sync", "test")
	if code != 0 {
		t.Fatalf("the run after the damage: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := strings.Count(errOut, "\n"); n != 1 || !strings.Contains(errOut, "the state database was damaged (database disk image is malformed); it is kept as ") {
		t.Errorf("want one line about the damage, got:\n%s", errOut)
	}
	aside, _ := filepath.Glob(path + ".damaged-*")
	if len(aside) != 1 {
		t.Errorf("the damaged file was not kept: %v", aside)
	}
	if !strings.Contains(out, `"linked": 300,`) || !strings.Contains(out, `"fetched": 0,`) || !strings.Contains(out, `"appended": 0,`) {
		ents, _ := os.ReadDir(filepath.Join(dir, "state"))
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("not rebuilt by content (%v, %s):\n%s", names, errOut, out)
	}
	if diff := dovecot.Diff(server, d.ServerState(t, user)); diff != "" {
		t.Errorf("the server changed:\n%s", diff)
	}
	if diff := dovecot.Diff(server, dovecot.LocalState(t, filepath.Join(dir, "mail"))); diff != "" {
		t.Errorf("the maildir is not the server's:\n%s", diff)
	}
	if code, out, _ := run(t, "--config", conf, "--json", "sync", "test"); code != 0 || !strings.Contains(out, `"linked": 0,`) {
		t.Errorf("the run after the rebuild: exit %d\n%s", code, out)
	}
}
