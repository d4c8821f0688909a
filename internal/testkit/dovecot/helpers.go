package dovecot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// ServerMsg describes one message on the server, as returned by Snapshot.
type ServerMsg struct {
	// UID is the message's IMAP UID.
	UID imap.UID
	// Flags are the message's flags and keywords, sorted, without the
	// session-dependent \Recent.
	Flags []string
	// Size is the RFC822.SIZE reported by the server (CRLF line endings).
	Size int64
	// SHA256 is the hex SHA-256 of the full message with every CRLF
	// replaced by LF, i.e. as it is normally stored in a Maildir file.
	SHA256 string
}

// BodySHA256 returns the hash used in ServerMsg.SHA256 for msg: the hex
// SHA-256 of msg with CRLF normalised to LF.
func BodySHA256(msg []byte) string {
	sum := sha256.Sum256(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

// Client opens a plain (unencrypted) IMAP connection to the server and logs
// in as user. The client is logged out and closed in t.Cleanup.
func (d *Server) Client(t testing.TB, user, pass string) *imapclient.Client {
	t.Helper()
	c, err := d.login(user, pass)
	if err != nil {
		t.Fatalf("dovecot: IMAP login as %q: %v\n%s", user, err, d.logTail())
	}
	t.Cleanup(func() { closeClient(c) })
	return c
}

func (d *Server) login(user, pass string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(d.IMAPAddr(), nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func closeClient(c *imapclient.Client) {
	_ = c.Logout().Wait()
	_ = c.Close()
}

// session logs user in with the password it was created with, runs f and
// logs out. Any error is fatal.
func (d *Server) session(t testing.TB, user string, what string, f func(c *imapclient.Client) error) {
	t.Helper()
	c, err := d.login(user, d.password(t, user))
	if err != nil {
		t.Fatalf("dovecot: %s: IMAP login as %q: %v\n%s", what, user, err, d.logTail())
	}
	defer closeClient(c)
	if err := f(c); err != nil {
		t.Fatalf("dovecot: %s: %v", what, err)
	}
}

// CreateFolder creates folder name (UTF-8, '/'-separated) for user. Parents
// are created as needed.
func (d *Server) CreateFolder(t testing.TB, user, name string) {
	t.Helper()
	d.session(t, user, "CREATE "+name, func(c *imapclient.Client) error {
		return c.Create(name, nil).Wait()
	})
}

// DeleteFolder deletes folder name of user.
func (d *Server) DeleteFolder(t testing.TB, user, name string) {
	t.Helper()
	d.session(t, user, "DELETE "+name, func(c *imapclient.Client) error {
		return c.Delete(name).Wait()
	})
}

// RenameFolder renames folder from to to for user.
func (d *Server) RenameFolder(t testing.TB, user, from, to string) {
	t.Helper()
	d.session(t, user, "RENAME "+from, func(c *imapclient.Client) error {
		return c.Rename(from, to, nil).Wait()
	})
}

// Append appends msg to folder of user with the given flags and returns its
// UID (from UIDPLUS APPENDUID).
func (d *Server) Append(t testing.TB, user, folder string, msg []byte, flags ...imap.Flag) imap.UID {
	t.Helper()
	var uid imap.UID
	d.session(t, user, "APPEND "+folder, func(c *imapclient.Client) error {
		var err error
		uid, err = appendMsg(c, folder, msg, flags)
		return err
	})
	return uid
}

// AppendMany appends msgs to folder over one connection and returns their
// UIDs in order.
func (d *Server) AppendMany(t testing.TB, user, folder string, msgs [][]byte, flags ...imap.Flag) []imap.UID {
	t.Helper()
	uids := make([]imap.UID, 0, len(msgs))
	d.session(t, user, "APPEND "+folder, func(c *imapclient.Client) error {
		for _, m := range msgs {
			uid, err := appendMsg(c, folder, m, flags)
			if err != nil {
				return err
			}
			uids = append(uids, uid)
		}
		return nil
	})
	return uids
}

func appendMsg(c *imapclient.Client, folder string, msg []byte, flags []imap.Flag) (imap.UID, error) {
	cmd := c.Append(folder, int64(len(msg)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write(msg); err != nil {
		cmd.Close()
		return 0, err
	}
	if err := cmd.Close(); err != nil {
		return 0, err
	}
	data, err := cmd.Wait()
	if err != nil {
		return 0, err
	}
	if data.UID == 0 {
		return 0, errors.New("no APPENDUID in the response")
	}
	return data.UID, nil
}

// SetFlags changes the flags of message uid in folder of user: op is
// imap.StoreFlagsSet, imap.StoreFlagsAdd or imap.StoreFlagsDel.
func (d *Server) SetFlags(t testing.TB, user, folder string, uid imap.UID, op imap.StoreFlagsOp, flags ...imap.Flag) {
	t.Helper()
	d.session(t, user, "STORE "+folder, func(c *imapclient.Client) error {
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			return err
		}
		return c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: op, Silent: true, Flags: flags}, nil).Close()
	})
}

// Expunge marks the given messages \Deleted and removes them with UID
// EXPUNGE; other \Deleted messages in the folder are kept.
func (d *Server) Expunge(t testing.TB, user, folder string, uids ...imap.UID) {
	t.Helper()
	if len(uids) == 0 {
		return
	}
	d.session(t, user, "EXPUNGE "+folder, func(c *imapclient.Client) error {
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			return err
		}
		set := imap.UIDSetNum(uids...)
		store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
		if err := c.Store(set, store, nil).Close(); err != nil {
			return err
		}
		return c.UIDExpunge(set).Close()
	})
}

// Folders returns the names of all selectable folders of user (LIST "" "*"),
// sorted, INBOX included.
func (d *Server) Folders(t testing.TB, user string) []string {
	t.Helper()
	var names []string
	d.session(t, user, "LIST", func(c *imapclient.Client) error {
		var err error
		names, err = listFolders(c)
		return err
	})
	return names
}

func listFolders(c *imapclient.Client) ([]string, error) {
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, err
	}
	var names []string
outer:
	for _, l := range list {
		for _, a := range l.Attrs {
			if a == imap.MailboxAttrNoSelect || a == imap.MailboxAttrNonExistent {
				continue outer
			}
		}
		names = append(names, l.Mailbox)
	}
	sort.Strings(names)
	return names, nil
}

// UIDValidity returns the UIDVALIDITY of folder of user.
func (d *Server) UIDValidity(t testing.TB, user, folder string) uint32 {
	t.Helper()
	var v uint32
	d.session(t, user, "STATUS "+folder, func(c *imapclient.Client) error {
		st, err := c.Status(folder, &imap.StatusOptions{UIDValidity: true}).Wait()
		if err != nil {
			return err
		}
		v = st.UIDValidity
		return nil
	})
	return v
}

// Snapshot returns every selectable folder of user with all its messages,
// sorted by UID. Folders are examined read-only, so nothing changes.
func (d *Server) Snapshot(t testing.TB, user string) map[string][]ServerMsg {
	t.Helper()
	snap := map[string][]ServerMsg{}
	d.session(t, user, "snapshot", func(c *imapclient.Client) error {
		names, err := listFolders(c)
		if err != nil {
			return err
		}
		for _, name := range names {
			msgs, err := snapshotFolder(c, name)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			snap[name] = msgs
		}
		return nil
	})
	return snap
}

// SnapshotFolder is Snapshot for a single folder.
func (d *Server) SnapshotFolder(t testing.TB, user, folder string) []ServerMsg {
	t.Helper()
	var msgs []ServerMsg
	d.session(t, user, "snapshot "+folder, func(c *imapclient.Client) error {
		var err error
		msgs, err = snapshotFolder(c, folder)
		return err
	})
	return msgs
}

func snapshotFolder(c *imapclient.Client, folder string) ([]ServerMsg, error) {
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, err
	}
	msgs := []ServerMsg{}
	if sel.NumMessages == 0 {
		return msgs, nil
	}
	fc := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	})
	defer fc.Close()
	for m := fc.Next(); m != nil; m = fc.Next() {
		var sm ServerMsg
		for item := m.Next(); item != nil; item = m.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				sm.UID = it.UID
			case imapclient.FetchItemDataFlags:
				sm.Flags = []string{}
				for _, f := range it.Flags {
					if f != "\\Recent" {
						sm.Flags = append(sm.Flags, string(f))
					}
				}
				sort.Strings(sm.Flags)
			case imapclient.FetchItemDataRFC822Size:
				sm.Size = it.Size
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					break
				}
				body, err := io.ReadAll(it.Literal)
				if err != nil {
					return nil, err
				}
				sm.SHA256 = BodySHA256(body)
			}
		}
		if sm.UID == 0 {
			return nil, errors.New("FETCH response without UID")
		}
		msgs = append(msgs, sm)
	}
	if err := fc.Close(); err != nil {
		return nil, err
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
	return msgs, nil
}

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

// Capabilities logs user in and returns the server's capabilities after
// authentication, as strings sorted.
func (d *Server) Capabilities(t testing.TB, user string) []string {
	t.Helper()
	var caps []string
	d.session(t, user, "CAPABILITY", func(c *imapclient.Client) error {
		set, err := c.Capability().Wait()
		if err != nil {
			return err
		}
		for cp := range set {
			caps = append(caps, string(cp))
		}
		sort.Strings(caps)
		return nil
	})
	return caps
}

// LeftInTmp puts into tmp (a Maildir folder's tmp/) what two interrupted
// deliveries would leave: one untouched for 40 hours, one fresh. The check
// it returns fails the test unless the old one is gone and the fresh one
// kept (the 36-hour Maildir rule).
func LeftInTmp(t testing.TB, tmp string) (check func()) {
	t.Helper()
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	old, fresh := filepath.Join(tmp, "1.M1P1.old"), filepath.Join(tmp, "2.M2P2.fresh")
	for _, f := range []string{old, fresh} {
		if err := os.WriteFile(f, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	then := time.Now().Add(-40 * time.Hour)
	if err := os.Chtimes(old, then, then); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the 40-hour-old file in tmp/ is still there: %v", err)
		}
		if _, err := os.Stat(fresh); err != nil {
			t.Errorf("the fresh file in tmp/ was removed: %v", err)
		}
	}
}
