package syncer

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// moveIn follows moves made on the server: each local file is renamed from
// the folder the message left into this one, under its key, with the
// planned flags, and becomes the pair of the message's new UID here; its
// pair in the old folder goes. Nothing is downloaded. A file no longer
// there is left to the next run (it downloads the message).
//
// The old folder's files are reached through a maildir.Folder of this
// applier's own: the one of that folder's folderSync belongs to whichever
// goroutine applies its plan, maybe at the same time (doc.go). Its listing
// then misses these renames, which is why the old folder is listed again
// next run (takeMoves).
func (a *applier) moveIn(acts []Action) error {
	type moved struct {
		act  Action
		from *folderSync
	}
	var done []moved
	dirs := map[string]*maildir.Folder{} // the old folders, by name
	failpoint.Hit("movein.after-journal")
	for _, act := range acts {
		src := a.byName[act.From]
		if src == nil || src.st == nil {
			a.w.keepServerNumbers = true // the message is fetched next run
			continue
		}
		from := dirs[act.From]
		if from == nil {
			var err error
			if from, err = a.o.Store.Folder(act.From, src.delim); err != nil {
				return fmt.Errorf("move from %q: %w", act.From, err)
			}
			from.DeferDirSync = true
			dirs[act.From] = from
		}
		// the file as found when the move was matched
		m, renamed := a.w.arrivals[act.Key].msg, false
		var to maildir.Message
		err := fs.ErrNotExist
		if m.Name != "" {
			to, err = from.MoveTo(m, a.w.local)
		}
		if errors.Is(err, fs.ErrNotExist) {
			// renamed meanwhile (a mail reader marked it read): its flags
			// are the reader's, and the next run merges them
			var found bool
			if m, found, err = from.Lookup(act.Key); err == nil && !found {
				a.w.keepServerNumbers = true // deleted meanwhile: the next run downloads it
				continue
			}
			if err == nil {
				to, err = from.MoveTo(m, a.w.local)
			}
			renamed = true
		}
		if err != nil {
			return fmt.Errorf("move %s from %q: %w", m.Name, act.From, err)
		}
		failpoint.Hit("movein.after-rename")
		if want := withLocalExtras(act.Flags, m.Flags); want != to.Flags && !renamed {
			if _, err := a.w.local.SetFlags(to, want); err != nil {
				return fmt.Errorf("set flags of %s: %w", to.Name, err)
			}
		}
		done = append(done, moved{act, src})
	}
	if err := a.syncDirs(); err != nil {
		return err
	}
	for _, from := range dirs {
		if err := from.SyncDirs(); err != nil {
			return err
		}
	}
	stores := map[uint32]bool{}
	for _, act := range a.w.plan.Actions {
		if act.Op == OpStoreFlags {
			stores[act.UID] = true
		}
	}
	a.record(a.ids[OpMoveIn], func(tx *state.Tx) error {
		for _, d := range done {
			act := d.act
			if err := tx.DeletePair(d.from.st.ID, act.FromUID, ""); err != nil {
				return err
			}
			p := a.pairMeta(act.UID, act.Key, act.Flags)
			if in, ok := a.w.arrivals[act.Key]; ok {
				p.Fingerprint, p.MessageID = in.pair.Fingerprint, in.pair.MessageID
			}
			if stores[act.UID] {
				p.Flags = act.Base // the store that follows records the merge
			}
			if err := tx.PutPair(a.w.st.ID, p); err != nil {
				return err
			}
		}
		return nil
	})
	a.res.add(func(r *Result) { r.MovedLocally += len(done) })
	return nil
}
