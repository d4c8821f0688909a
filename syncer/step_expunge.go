package syncer

import (
	"fmt"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/state"
)

func uidsOf(acts []Action) imap.UIDSet {
	var s imap.UIDSet
	for _, act := range acts {
		s.AddNum(imap.UID(act.UID))
	}
	return s
}

func (a *applier) expunge(acts []Action) error {
	failpoint.Hit("expunge.after-journal")
	if err := a.expungeUIDs(uidsOf(acts)); err != nil {
		return err
	}
	failpoint.Hit("expunge.after-server")
	a.record(a.ids[OpExpunge], func(tx *state.Tx) error {
		for _, act := range acts {
			if err := tx.DeletePair(a.w.st.ID, act.UID, ""); err != nil {
				return err
			}
		}
		return nil
	})
	a.res.add(func(r *Result) { r.Expunged += len(acts) })
	return nil
}

// expungeUIDs flags messages \Deleted and expunges exactly them: UID
// EXPUNGE where the server has UIDPLUS; otherwise a plain EXPUNGE only when
// no other message is marked \Deleted (it would remove those too), else
// they stay flagged and the run says so.
func (a *applier) expungeUIDs(set imap.UIDSet) error {
	flag := a.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil)
	if a.c.Caps.Has(imap.CapUIDPlus) || a.c.Caps.Has(imap.CapIMAP4rev2) {
		// one round trip: UID EXPUNGE goes out before STORE's answer (it
		// only removes those of our UIDs that are \Deleted)
		exp := a.c.UIDExpunge(set)
		a.sendNext(OpExpunge)
		err := flag.Close()
		failpoint.Hit("expunge.after-flag")
		if eerr := exp.Close(); err == nil && eerr != nil {
			err = fmt.Errorf("uid expunge: %w", eerr)
		} else if err != nil {
			err = fmt.Errorf("flag \\Deleted: %w", err)
		}
		return err
	}
	if err := flag.Close(); err != nil {
		return fmt.Errorf("flag \\Deleted: %w", err)
	}
	failpoint.Hit("expunge.after-flag")
	sd, err := a.c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagDeleted}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("search deleted: %w", err)
	}
	for _, u := range sd.AllUIDs() {
		if !set.Contains(u) {
			a.res.note("%s: server lacks UIDPLUS and other messages are marked \\Deleted: ours are left flagged, not expunged", a.w.name)
			return nil
		}
	}
	if err := a.c.Expunge().Close(); err != nil {
		return fmt.Errorf("expunge: %w", err)
	}
	return nil
}
