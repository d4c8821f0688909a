//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package offlineimap

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestStateRunning(t *testing.T) {
	f := newFixture(t, "/")
	f.folder("INBOX")
	f.status("INBOX", nil)
	f.validity("INBOX", "1\n")
	lock := filepath.Join(f.meta, "a.lock")
	f.write(lock, "")
	if hasNote(f.read().Notes, "seems to be syncing") {
		t.Errorf("an unlocked lock file is not a running OfflineIMAP")
	}
	fd, err := os.OpenFile(lock, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	if err := syscall.Flock(int(fd.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Skipf("flock: %v", err)
	}
	if res := f.read(); !hasNote(res.Notes, "OfflineIMAP seems to be syncing account a right now") {
		t.Errorf("notes:\n%s", notesString(res.Notes))
	}
}
