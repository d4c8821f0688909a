package dovecot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AddUser adds user with password pass, or changes the password of an
// existing user; either is effective for the next login when AddUser
// returns.
//
// Dovecot's passwd-file driver stats a file at most once per second, so a
// file rewritten in the second of its last lookup is not reread at once.
// Each user therefore has a passwd-file of its own: a new user's file has
// never been looked up and is read at once. After a password change,
// AddUser checks with doveadm auth test until Dovecot accepts the new
// password (bounded; typically under a second).
func (d *Server) AddUser(t testing.TB, user, pass string) {
	t.Helper()
	if err := checkUser(user, pass); err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	d.mu.Lock()
	old, existed := d.users[user]
	d.users[user] = pass
	err := d.writePasswd(user, pass)
	d.mu.Unlock()
	if err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	if !existed || old == pass {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := d.doveadmErr("auth", "test", "-x", "service=imap", user, pass)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dovecot: new password of %q not accepted: %v\n%s\n%s", user, err, out, d.logTail())
		}
	}
}

func checkUser(user, pass string) error {
	if user == "" || user == "." || user == ".." || strings.ContainsAny(user, ":/\x00\r\n\t%") ||
		strings.ContainsAny(pass, ":\x00\r\n") {
		return fmt.Errorf("invalid user name or password for %q", user)
	}
	return nil
}

// password returns the password user was created with.
func (d *Server) password(t testing.TB, user string) string {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	pass, ok := d.users[user]
	if !ok {
		t.Fatalf("dovecot: unknown user %q (use WithUser or AddUser)", user)
	}
	return pass
}

// writePasswd atomically writes the passwd-file of user. Callers hold d.mu
// (or are Start).
func (d *Server) writePasswd(user, pass string) error {
	path := filepath.Join(d.passwd, user)
	tmp := filepath.Join(d.dir, "passwd.tmp")
	if err := os.WriteFile(tmp, []byte(user+":{PLAIN}"+pass+"::::::\n"), 0o644); err != nil {
		return err
	}
	// Dovecot rereads the file only if its mtime (in seconds) or size
	// changed: make sure the mtime does.
	mtime := time.Now().Truncate(time.Second)
	if st, err := os.Stat(path); err == nil && !mtime.After(st.ModTime()) {
		mtime = st.ModTime().Truncate(time.Second).Add(time.Second)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
