package dovecot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BulkLoad writes msgs straight into the server's Maildir files of folder
// (created if needed) and makes Dovecot index them with doveadm
// force-resync. It is much faster than APPEND for thousands of messages.
// The messages get UIDs in order, above any existing ones, and no flags.
func (d *Server) BulkLoad(t testing.TB, user, folder string, msgs [][]byte) {
	t.Helper()
	d.password(t, user) // must be a known user
	if !strings.EqualFold(folder, "INBOX") {
		// Creating it through doveadm gives it a dovecot-uidlist and the
		// right mUTF-7 directory name; an existing folder is fine.
		if out, err := d.doveadmErr("mailbox", "create", "-u", user, folder); err != nil &&
			!strings.Contains(strings.ToLower(out), "exists") {
			t.Fatalf("dovecot: BulkLoad: doveadm mailbox create %s: %v\n%s", folder, err, out)
		}
	}
	dir := strings.TrimSpace(d.Doveadm(t, "mailbox", "path", "-u", user, folder))
	if dir == "" || !filepath.IsAbs(dir) {
		t.Fatalf("dovecot: BulkLoad: odd mailbox path %q for %s", dir, folder)
	}
	for _, sub := range []string{"", "cur", "new", "tmp"} {
		if err := d.mkdirMail(filepath.Join(dir, sub)); err != nil {
			t.Fatalf("dovecot: BulkLoad: %v", err)
		}
	}
	d.mu.Lock()
	d.bulkSeq++
	seq := d.bulkSeq
	d.mu.Unlock()
	now := time.Now().Unix()
	for i, m := range msgs {
		// Dovecot numbers new files in file name order (seconds, then
		// M<usecs>), so the UIDs follow the order of msgs.
		name := fmt.Sprintf("%d.M%06dP%dQ%d.mdsync-bulk,S=%d:2,",
			now+int64(i/1000000), i%1000000, os.Getpid(), seq, len(m))
		tmp := filepath.Join(dir, "tmp", name)
		if err := os.WriteFile(tmp, m, 0o600); err != nil {
			t.Fatalf("dovecot: BulkLoad: %v", err)
		}
		if d.uid != os.Geteuid() {
			if err := os.Chown(tmp, d.uid, d.gid); err != nil {
				t.Fatalf("dovecot: BulkLoad: %v", err)
			}
		}
		if err := os.Rename(tmp, filepath.Join(dir, "cur", name)); err != nil {
			t.Fatalf("dovecot: BulkLoad: %v", err)
		}
	}
	d.Doveadm(t, "force-resync", "-u", user, folder)
}

// mkdirMail creates dir (and missing parents inside the mail root) owned by
// the mail user.
func (d *Server) mkdirMail(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir && strings.HasPrefix(parent, d.mailRoot) {
		if err := d.mkdirMail(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return err
	}
	return os.Chown(dir, d.uid, d.gid)
}
