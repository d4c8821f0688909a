package syncer

import (
	"errors"
	"sync/atomic"

	"github.com/mdsync/mdsync/internal/par"
	"github.com/mdsync/mdsync/state"
)

// committer records the outcomes of folders whose side effects are done,
// several in one transaction, while the connections go on with other
// folders. Until then the journal holds their intents, as after a crash.
type committer struct {
	b          *par.Batcher[*applier]
	checkpoint atomic.Bool // one is under way
}

func newCommitter() *committer {
	c := &committer{}
	c.b = par.NewBatcher(func(q []*applier) {
		recordAll(q)
		// Copied into the database file now, beside the next records,
		// the outcomes are not left for the Close at the end of the run
		// (which would make the user wait for it). One at a time; a
		// record never waits for one.
		if c.checkpoint.CompareAndSwap(false, true) {
			a := q[0]
			c.b.Later(func() {
				defer c.checkpoint.Store(false)
				_ = a.o.DB.Checkpoint(a.ctx)
			})
		}
	})
	return c
}

func (c *committer) add(a *applier) { c.b.Add(a) }

// addAfter queues a's outcomes once its background fetch batches are
// done; if one failed, only what was done is recorded, the folder is not
// marked synced.
func (c *committer) addAfter(a *applier) {
	c.b.Later(func() {
		if err := a.waitTails(); err != nil {
			a.w.recordErr = errors.Join(err, a.flush(false))
			return
		}
		c.add(a)
	})
}

// recordAll records the outcomes of several folders in one transaction.
func recordAll(q []*applier) {
	err := q[0].tx(func(tx *state.Tx) error {
		for _, a := range q {
			if err := a.flushIn(tx, true); err != nil {
				return err
			}
		}
		return nil
	})
	for _, a := range q {
		if err != nil && len(q) > 1 {
			// one folder's failure must not cost the others theirs
			a.w.recordErr = a.tx(func(tx *state.Tx) error { return a.flushIn(tx, true) })
		} else {
			a.w.recordErr = err
		}
		a.pending, a.doneIDs = nil, nil
		a.w.release() // no retry follows a late record
		a.o.tracef("    %s recorded", a.w.name)
	}
}

// wait waits for every outcome queued so far and records the errors.
func (c *committer) wait(ws []*folderSync) {
	c.b.Wait()
	for _, w := range ws {
		if w.recordErr != nil && w.err == nil {
			w.err = w.recordErr
		}
	}
}

// record queues an outcome, and the journal entries it completes, for the
// next flush.
func (a *applier) record(ids []int64, fn func(tx *state.Tx) error) {
	a.pending = append(a.pending, fn)
	a.doneIDs = append(a.doneIDs, ids...)
}

// flush commits the queued outcomes; with final it also saves the folder's
// numbers and marks it synced.
func (a *applier) flush(final bool) error {
	if len(a.pending) == 0 && len(a.doneIDs) == 0 && !final {
		return nil
	}
	err := a.tx(func(tx *state.Tx) error { return a.flushIn(tx, final) })
	a.pending, a.doneIDs = nil, nil
	return err
}

// flushIn is flush's work inside tx.
func (a *applier) flushIn(tx *state.Tx, final bool) error {
	for _, fn := range a.pending {
		if err := fn(tx); err != nil {
			return err
		}
	}
	if err := tx.DoneJournal(a.doneIDs...); err != nil {
		return err
	}
	if final {
		return a.saveFolder(tx)
	}
	return nil
}

// setPairFlags records new synced flags of a pair: in place when the pair
// is there as planned, else in full.
func (a *applier) setPairFlags(tx *state.Tx, act Action) error {
	if act.UID > 0 && act.Key != "" {
		if ok, err := tx.SetPairFlags(a.w.st.ID, act.UID, act.Key, act.Flags); ok || err != nil {
			return err
		}
	}
	return tx.PutPair(a.w.st.ID, a.pairMeta(act.UID, act.Key, act.Flags))
}

func (a *applier) pairMeta(uid uint32, key, flags string) state.Pair {
	p := state.Pair{UID: uid, Key: key, Flags: flags}
	if li, ok := a.w.localInfo[key]; ok {
		p.Size, p.Fingerprint, p.MessageID = li.CRLFSize, li.Fingerprint, li.MessageID
	}
	if rm, ok := a.w.remoteMeta[uid]; ok {
		// the server's size: a file another tool added a field to is longer
		p.Size = rm.Size
		if p.MessageID == "" {
			p.MessageID = rm.MessageID
		}
	}
	if old, ok := a.oldPair(uid, key); ok {
		if p.Fingerprint == "" {
			p.Fingerprint = old.Fingerprint
		}
		if p.MessageID == "" {
			p.MessageID = old.MessageID
		}
		if p.Size == 0 {
			p.Size = old.Size
		}
	}
	return p
}

// oldPair finds the pair the state had for a message (by UID, unless
// UIDVALIDITY changed, or by key; the first in the folder's order), by
// an index built on first use: a plan may link or tombstone every message
// of a big folder.
func (a *applier) oldPair(uid uint32, key string) (state.Pair, bool) {
	if a.olds == nil {
		olds, err := a.w.pairs.withMeta(a.ctx, a.o.DB, a.w.st.ID)
		if err != nil {
			olds = a.w.pairs.list // loaded ahead by newApplier where it matters
		}
		a.olds = &pairIndex{pairs: olds, byUID: make(map[uint32]int, len(olds)), byKey: make(map[string]int, len(olds))}
		for i := len(olds) - 1; i >= 0; i-- { // the first one wins
			if olds[i].UID != 0 {
				a.olds.byUID[olds[i].UID] = i
			}
			if olds[i].Key != "" {
				a.olds.byKey[olds[i].Key] = i
			}
		}
	}
	at := -1
	if i, ok := a.olds.byUID[uid]; ok && uid != 0 && !a.w.in.UIDValidityChanged {
		at = i
	}
	if i, ok := a.olds.byKey[key]; ok && key != "" && (at < 0 || i < at) {
		at = i
	}
	if at < 0 {
		return state.Pair{}, false
	}
	return a.olds.pairs[at], true
}

// pairIndex finds a folder's pairs by UID and by key.
type pairIndex struct {
	pairs []state.Pair
	byUID map[uint32]int
	byKey map[string]int
}

// stateOnly records what needs no side effect: forgotten pairs, tombstones,
// links of matched messages, agreed flags; and after a UIDVALIDITY change
// it drops every old pair first. It returns how many messages it linked.
func (a *applier) stateOnly(tx *state.Tx, acts []Action) (int, error) {
	var n int
	if a.w.in.UIDValidityChanged {
		if err := tx.DeleteAllPairs(a.w.st.ID); err != nil {
			return 0, err
		}
		a.res.notice("%s: UIDVALIDITY changed (%d -> %d): messages re-matched by content", a.w.name, a.w.st.UIDValidity, a.w.planSel.UIDValidity)
	}
	for _, act := range acts {
		var err error
		switch act.Op {
		case OpForget:
			if a.w.in.UIDValidityChanged {
				continue
			}
			err = tx.DeletePair(a.w.st.ID, act.UID, act.Key)
		case OpTombstone:
			p := a.pairMeta(act.UID, act.Key, "")
			if act.UID != 0 { // deleted locally, kept on the server
				p.Key = ""
				err = tx.DeletePair(a.w.st.ID, act.UID, "")
			} else { // expunged on the server, kept locally
				for _, old := range a.w.pairs.list {
					if old.Key == act.Key && old.UID != 0 {
						err = tx.DeletePair(a.w.st.ID, old.UID, "")
					}
				}
			}
			if err == nil {
				err = tx.PutPair(a.w.st.ID, p)
			}
		case OpLink, OpUpdateBase:
			if act.Op == OpLink {
				n++
			}
			// a link whose flags still differ is recorded with the old
			// base; the store/set-flags actions that follow update it.
			err = tx.PutPair(a.w.st.ID, a.pairMeta(act.UID, act.Key, baseForLink(act, a.w.plan.Actions)))
		}
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// baseForLink is the base to record for a link: its merged flags when no
// flag action follows, else the flags both sides had in common so that a
// crash before the flag actions still lets the next run push them.
func baseForLink(link Action, acts []Action) string {
	if link.Op != OpLink {
		return link.Flags
	}
	for _, act := range acts {
		if (act.Op == OpStoreFlags || act.Op == OpSetLocalFlags) && act.UID == link.UID {
			return ""
		}
	}
	return link.Flags
}

// saveFolder records the numbers seen before the changes of this run (so
// that a change made by someone else meanwhile is seen next time) and marks
// the folder synced.
func (a *applier) saveFolder(tx *state.Tx) error {
	st := *a.w.st
	switch {
	case a.w.keepServerNumbers:
		// the numbers of the last sync stay: the next run looks at the
		// server side again (see folderSync.keepServerNumbers)
	case a.w.planSel != nil:
		st.UIDValidity, st.UIDNext, st.HighestModSeq, st.Messages = a.w.planSel.UIDValidity, uint32(a.w.planSel.UIDNext), a.w.planSel.HighestModSeq, a.w.planSel.NumMessages
	case a.w.rstat != nil:
		st.UIDValidity, st.UIDNext, st.HighestModSeq = a.w.rstat.UIDValidity, uint32(a.w.rstat.UIDNext), a.w.rstat.HighestModSeq
		if a.w.rstat.NumMessages != nil {
			st.Messages = *a.w.rstat.NumMessages
		}
	}
	st.CurMTime, st.NewMTime = a.w.curM, a.w.newM
	if recent(st.CurMTime, a.w.mtimeAt) || recent(st.NewMTime, a.w.mtimeAt) || a.w.createLocal {
		st.CurMTime, st.NewMTime = 0, 0 // not trusted: look again next run
	}
	st.Listing = ""
	if a.w.listingOK {
		st.Listing = a.w.listing.Plus(a.w.local.Changes()).String()
	}
	if a.w.rescan {
		st.CurMTime, st.NewMTime, st.Listing = 0, 0, ""
	}
	st.SyncedAt = nowUnix()
	if a.w.planSel != nil {
		st.UVChanged = a.w.in.UIDValidityChanged
	}
	return tx.SaveFolder(&st)
}
