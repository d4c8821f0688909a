package dovecot

import (
	"errors"
	"sort"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

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

// Move moves messages of user from folder to dst on the server, as another
// client would: UID COPY, \Deleted and UID EXPUNGE of exactly them, which
// works whatever capabilities the test server announces (the client's own
// fallback for a server without MOVE would leave them flagged only).
func (d *Server) Move(t testing.TB, user, folder, dst string, uids ...imap.UID) {
	t.Helper()
	d.session(t, user, "MOVE from "+folder, func(c *imapclient.Client) error {
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			return err
		}
		var set imap.UIDSet
		for _, u := range uids {
			set.AddNum(u)
		}
		if _, err := c.Copy(set, dst).Wait(); err != nil {
			return err
		}
		if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			return err
		}
		return c.UIDExpunge(set).Close()
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
