package bench

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// server wraps the private Dovecot with error-returning helpers.
type server struct {
	d  *dovecot.Server
	tb *benchTB
}

const benchPass = "benchpw"

func (s *server) login(user string) (*imapclient.Client, error) {
	return s.loginAt(s.d.IMAPAddr(), user)
}

// loginAt logs in through addr (Dovecot's, or the latency proxy's).
func (s *server) loginAt(addr, user string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, benchPass).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func logout(c *imapclient.Client) {
	_ = c.Logout().Wait()
	_ = c.Close()
}

// load writes a corpus into user's mailbox (BulkLoad in batches) and sets
// the corpus flags with UID STORE.
func (s *server) load(user string, c *Corpus) error {
	s.d.AddUser(s.tb, user, benchPass)
	byFolder := c.ByFolder()
	for fi, msgs := range byFolder {
		if len(msgs) == 0 {
			continue
		}
		const batch = 4000
		for lo := 0; lo < len(msgs); lo += batch {
			hi := min(lo+batch, len(msgs))
			data := make([][]byte, 0, hi-lo)
			for _, m := range msgs[lo:hi] {
				data = append(data, m.Message())
			}
			s.d.BulkLoad(s.tb, user, c.Folders[fi], data)
		}
	}
	cl, err := s.login(user)
	if err != nil {
		return err
	}
	defer logout(cl)
	for fi, msgs := range byFolder {
		if len(msgs) == 0 {
			continue
		}
		if _, err := cl.Select(c.Folders[fi], nil).Wait(); err != nil {
			return fmt.Errorf("select %s: %w", c.Folders[fi], err)
		}
		groups := map[string][]imap.UID{}
		for i, m := range msgs {
			if m.Flags != "" {
				groups[m.Flags] = append(groups[m.Flags], imap.UID(i+1)) // fresh folder: UIDs 1..n
			}
		}
		for letters, uids := range groups {
			if err := storeChunked(cl, uids, imap.StoreFlagsAdd, lettersToFlags(letters)); err != nil {
				return fmt.Errorf("store %s: %w", c.Folders[fi], err)
			}
		}
	}
	return nil
}

func lettersToFlags(letters string) []imap.Flag {
	var fs []imap.Flag
	for _, l := range letters {
		switch l {
		case 'S':
			fs = append(fs, imap.FlagSeen)
		case 'R':
			fs = append(fs, imap.FlagAnswered)
		case 'F':
			fs = append(fs, imap.FlagFlagged)
		case 'D':
			fs = append(fs, imap.FlagDraft)
		}
	}
	return fs
}

// storeChunked runs UID STORE in chunks that keep the command line short.
func storeChunked(c *imapclient.Client, uids []imap.UID, op imap.StoreFlagsOp, flags []imap.Flag) error {
	const chunk = 800
	for lo := 0; lo < len(uids); lo += chunk {
		hi := min(lo+chunk, len(uids))
		set := imap.UIDSetNum(uids[lo:hi]...)
		if err := c.Store(set, &imap.StoreFlags{Op: op, Silent: true, Flags: flags}, nil).Close(); err != nil {
			return err
		}
	}
	return nil
}

// clone makes dst a copy of src's whole mailbox (same UIDs, UIDVALIDITY,
// flags) by copying the home directory with cp -a.
func (s *server) clone(src, dst string) error {
	s.d.AddUser(s.tb, dst, benchPass)
	from := filepath.Dir(s.d.MailDir(src))
	to := filepath.Dir(s.d.MailDir(dst))
	if out, err := exec.Command("rm", "-rf", to).CombinedOutput(); err != nil {
		return fmt.Errorf("rm %s: %v: %s", to, err, out)
	}
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a %s %s: %v: %s", from, to, err, out)
	}
	return nil
}

// drop removes user's mail files (the passwd entry stays).
func (s *server) drop(user string) {
	_ = exec.Command("rm", "-rf", filepath.Dir(s.d.MailDir(user))).Run()
}

type folderUID struct {
	folder string
	uid    imap.UID
	flags  []imap.Flag
}

// listAll returns every message of user (folder, UID, flags), sorted.
func (s *server) listAll(c *imapclient.Client) ([]folderUID, error) {
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, err
	}
	var out []folderUID
	names := []string{}
	for _, l := range list {
		if !hasAttr(l.Attrs, imap.MailboxAttrNoSelect) && !hasAttr(l.Attrs, imap.MailboxAttrNonExistent) {
			names = append(names, l.Mailbox)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		sel, err := c.Select(n, nil).Wait()
		if err != nil {
			return nil, err
		}
		if sel.NumMessages == 0 {
			continue
		}
		msgs, err := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
		if err != nil {
			return nil, err
		}
		sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
		for _, m := range msgs {
			out = append(out, folderUID{folder: n, uid: m.UID, flags: m.Flags})
		}
	}
	return out, nil
}

// toggleFlagged flips \Flagged on frac of user's messages, picked by r.
// It returns the number of messages changed.
func (s *server) toggleFlagged(user string, frac float64, r *rand.Rand) (int, error) {
	c, err := s.login(user)
	if err != nil {
		return 0, err
	}
	defer logout(c)
	all, err := s.listAll(c)
	if err != nil {
		return 0, err
	}
	k := int(float64(len(all))*frac + 0.5)
	perm := r.Perm(len(all))[:k]
	type key struct {
		folder string
		add    bool
	}
	groups := map[key][]imap.UID{}
	for _, i := range perm {
		m := all[i]
		has := false
		for _, f := range m.flags {
			if f == imap.FlagFlagged {
				has = true
			}
		}
		groups[key{m.folder, !has}] = append(groups[key{m.folder, !has}], m.uid)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].folder != keys[j].folder {
			return keys[i].folder < keys[j].folder
		}
		return keys[i].add
	})
	for _, kk := range keys {
		if _, err := c.Select(kk.folder, nil).Wait(); err != nil {
			return 0, err
		}
		op := imap.StoreFlagsDel
		if kk.add {
			op = imap.StoreFlagsAdd
		}
		if err := storeChunked(c, groups[kk], op, []imap.Flag{imap.FlagFlagged}); err != nil {
			return 0, err
		}
	}
	return k, nil
}

// appendNew appends msgs (folder name -> messages) to user's mailbox.
func (s *server) appendNew(user string, folders []string, msgs [][]MsgSpec) error {
	c, err := s.login(user)
	if err != nil {
		return err
	}
	defer logout(c)
	for fi, ms := range msgs {
		for _, m := range ms {
			data := m.Message()
			cmd := c.Append(folders[fi], int64(len(data)), nil)
			if _, err := cmd.Write(data); err != nil {
				cmd.Close()
				return err
			}
			if err := cmd.Close(); err != nil {
				return err
			}
			if _, err := cmd.Wait(); err != nil {
				return err
			}
		}
	}
	return nil
}
