package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// floorMark is what the server floor knew of a folder at its last call.
type floorMark struct {
	modSeq  uint64
	uidNext uint32
}

// serverFloor measures the least IMAP work any tool needs to learn what
// changed on the server since prev (each folder's HIGHESTMODSEQ and
// UIDNEXT at the last call) and to download the new messages: connect and
// log in, one LIST-STATUS, then for each changed folder SELECT (CONDSTORE),
// UID FETCH (FLAGS) (CHANGEDSINCE) of the messages known before, and UID
// FETCH (FLAGS BODY.PEEK[]) of the new ones, every command pipelined on one
// connection (the bodies are read and dropped: nothing is written
// anywhere). It returns the time taken and the folders' new marks.
func (s *server) serverFloor(addr, user string, prev map[string]floorMark) (time.Duration, map[string]floorMark, error) {
	start := time.Now()
	c, err := s.loginAt(addr, user)
	if err != nil {
		return 0, nil, err
	}
	defer logout(c)
	list, err := listStatus(c)
	if err != nil {
		return 0, nil, err
	}
	next := marksOf(list)
	type sent struct {
		sel    *imapclient.SelectCommand
		fetch  *imapclient.FetchCommand
		bodies chan error
	}
	var cmds []sent
	for _, l := range list {
		mark, selectable := next[l.Mailbox]
		if !selectable {
			continue
		}
		old, ok := prev[l.Mailbox]
		if ok && old.modSeq == mark.modSeq {
			continue
		}
		sc := c.Select(l.Mailbox, &imap.SelectOptions{CondStore: true})
		cmd := sent{sel: sc}
		newMail := ok && old.uidNext < mark.uidNext
		switch {
		case !newMail:
			cmd.fetch = c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, ChangedSince: old.modSeq})
		case old.uidNext > 1:
			// the new messages are asked apart: the two sets must not
			// overlap (the client routes answers by UID)
			cmd.fetch = c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: imap.UID(old.uidNext - 1)}}, &imap.FetchOptions{UID: true, Flags: true, ChangedSince: old.modSeq})
		}
		if newMail {
			fc := c.Fetch(imap.UIDSet{imap.UIDRange{Start: imap.UID(old.uidNext), Stop: imap.UID(mark.uidNext - 1)}},
				&imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
			cmd.bodies = make(chan error, 1)
			go func() { // Dovecot answers both FETCHes at once
				for m := fc.Next(); m != nil; m = fc.Next() {
					for it := m.Next(); it != nil; it = m.Next() {
						if b, ok := it.(imapclient.FetchItemDataBodySection); ok && b.Literal != nil {
							io.Copy(io.Discard, b.Literal)
						}
					}
				}
				cmd.bodies <- fc.Close()
			}()
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if _, err := cmd.sel.Wait(); err != nil {
			return 0, nil, fmt.Errorf("select: %w", err)
		}
		if cmd.fetch != nil {
			if _, err := cmd.fetch.Collect(); err != nil {
				return 0, nil, fmt.Errorf("fetch: %w", err)
			}
		}
		if cmd.bodies != nil {
			if err := <-cmd.bodies; err != nil {
				return 0, nil, fmt.Errorf("fetch bodies: %w", err)
			}
		}
	}
	return time.Since(start), next, nil
}

// serverFloorWrite measures the least IMAP work any tool needs to push
// scenario 5's local changes: connect and log in, one LIST-STATUS, then for
// each folder concerned SELECT, the \Flagged toggles (one UID STORE per
// direction), and \Deleted + UID EXPUNGE for the deletions, every command
// pipelined on one connection. The messages are picked beforehand (not
// timed): frac of all toggled, `deletions` expunged (at most 10% of a
// folder, folders of 50 or more, as mutateLocal does), from known (the
// user's messages and flags, as the last call left them; nil: listed now).
// It returns the messages and flags it leaves.
//
// Only the first call lists the messages on the server: a listing between
// two calls would select every folder, and Dovecot would then re-read the
// folders the last call changed (a Maildir changed within the second of the
// last look is looked at again) before the clock starts, while each tool
// pays that in its run after its own last pushes.
func (s *server) serverFloorWrite(addr, user string, known []folderUID, frac float64, deletions int, r *rand.Rand) (time.Duration, []folderUID, error) {
	all := known
	if all == nil {
		c, err := s.login(user)
		if err != nil {
			return 0, nil, err
		}
		all, err = s.listAll(c)
		logout(c)
		if err != nil {
			return 0, nil, err
		}
	}
	type change struct{ add, del, gone []imap.UID }
	changes := map[string]*change{}
	at := func(f string) *change {
		if changes[f] == nil {
			changes[f] = &change{}
		}
		return changes[f]
	}
	size := map[string]int{}
	for _, m := range all {
		size[m.folder]++
	}
	perm := r.Perm(len(all))
	k := int(float64(len(all))*frac + 0.5)
	for _, i := range perm[:k] {
		m := all[i]
		if slices.Contains(m.flags, imap.FlagFlagged) {
			at(m.folder).del = append(at(m.folder).del, m.uid)
		} else {
			at(m.folder).add = append(at(m.folder).add, m.uid)
		}
	}
	n := 0
	for _, i := range perm[k:] {
		m := all[i]
		if n >= deletions {
			break
		}
		if size[m.folder] < 50 || len(at(m.folder).gone)+1 > size[m.folder]/10 {
			continue
		}
		at(m.folder).gone = append(at(m.folder).gone, m.uid)
		n++
	}
	start := time.Now()
	c, err := s.loginAt(addr, user)
	if err != nil {
		return 0, nil, err
	}
	defer logout(c)
	if _, err := listStatus(c); err != nil {
		return 0, nil, err
	}
	var waits []func() error
	store := func(uids []imap.UID, op imap.StoreFlagsOp, f imap.Flag) {
		if len(uids) > 0 {
			cmd := c.Store(imap.UIDSetNum(uids...), &imap.StoreFlags{Op: op, Silent: true, Flags: []imap.Flag{f}}, nil)
			waits = append(waits, cmd.Close)
		}
	}
	for f, ch := range changes {
		sel := c.Select(f, nil)
		waits = append(waits, func() error { _, err := sel.Wait(); return err })
		store(ch.add, imap.StoreFlagsAdd, imap.FlagFlagged)
		store(ch.del, imap.StoreFlagsDel, imap.FlagFlagged)
		if len(ch.gone) > 0 {
			store(ch.gone, imap.StoreFlagsAdd, imap.FlagDeleted)
			exp := c.UIDExpunge(imap.UIDSetNum(ch.gone...))
			waits = append(waits, exp.Close)
		}
	}
	for _, w := range waits {
		if err := w(); err != nil {
			return 0, nil, err
		}
	}
	took := time.Since(start)
	type id struct {
		folder string
		uid    imap.UID
	}
	toggled, gone := map[id]bool{}, map[id]bool{}
	for f, ch := range changes {
		for _, u := range append(ch.add, ch.del...) {
			toggled[id{f, u}] = true
		}
		for _, u := range ch.gone {
			gone[id{f, u}] = true
		}
	}
	left := make([]folderUID, 0, len(all))
	for _, m := range all {
		k := id{m.folder, m.uid}
		switch {
		case gone[k]:
			continue
		case toggled[k] && slices.Contains(m.flags, imap.FlagFlagged):
			m.flags = slices.DeleteFunc(slices.Clone(m.flags), func(f imap.Flag) bool { return f == imap.FlagFlagged })
		case toggled[k]:
			m.flags = append(slices.Clone(m.flags), imap.FlagFlagged)
		}
		left = append(left, m)
	}
	return took, left, nil
}

// listStatus is the one LIST-STATUS every tool starts with.
func listStatus(c *imapclient.Client) ([]*imap.ListData, error) {
	return c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{
		NumMessages: true, UIDNext: true, UIDValidity: true, HighestModSeq: true}}).Collect()
}

// floorMarks reads what the server floor knows of each folder of user
// before its first call (untimed: one LIST-STATUS, nothing selected).
func (s *server) floorMarks(user string) (map[string]floorMark, error) {
	c, err := s.login(user)
	if err != nil {
		return nil, err
	}
	defer logout(c)
	list, err := listStatus(c)
	if err != nil {
		return nil, err
	}
	return marksOf(list), nil
}

// marksOf is what a LIST-STATUS tells of each selectable folder.
func marksOf(list []*imap.ListData) map[string]floorMark {
	marks := map[string]floorMark{}
	for _, l := range list {
		if l.Status != nil && !hasAttr(l.Attrs, imap.MailboxAttrNoSelect) {
			marks[l.Mailbox] = floorMark{modSeq: l.Status.HighestModSeq, uidNext: uint32(l.Status.UIDNext)}
		}
	}
	return marks
}
