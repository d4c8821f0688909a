package popfetch

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// recover finishes or forgets the pending deliveries of the account. seen is
// updated with the UIDLs it records (in a dry run, only in memory).
func (f *Fetcher) recover(ctx context.Context, folder *maildir.Folder, seen map[string]state.UIDL, res *Result) error {
	acct := f.o.Account
	// the account's own entries: a POP delivery journals its UIDL in Arg
	// and the key it delivers under in Key
	pending, err := f.o.DB.Journal(ctx, state.POPOwner(acct))
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		return nil
	}
	// Which keys exist: a few lookups, or one scan of names.
	var exists func(key string) (bool, error)
	switch {
	case !folder.Exists():
		exists = func(string) (bool, error) { return false, nil }
	case len(pending) <= 4:
		exists = func(key string) (bool, error) {
			_, found, err := folder.Lookup(key)
			return found, err
		}
	default:
		names, _, err := folder.ScanNames()
		if err != nil {
			return err
		}
		exists = func(key string) (bool, error) {
			_, ok := names[key]
			return ok, nil
		}
	}
	var tx *state.Tx
	if !f.o.DryRun {
		if tx, err = f.o.DB.BeginDurable(ctx); err != nil {
			return err
		}
		defer tx.Rollback()
	}
	now := f.now()
	recorded, forgotten := 0, 0
	for _, e := range pending {
		uidl := e.Arg
		found, err := exists(e.Key)
		if err != nil {
			return err
		}
		if found {
			u := state.UIDL{UIDL: uidl, FirstSeen: now, DeliveredKey: e.Key, Status: state.POPDelivered}
			if old, ok := seen[uidl]; ok {
				u.FirstSeen = old.FirstSeen
			}
			seen[uidl] = u
			recorded++
			if tx != nil {
				if err := tx.POPRecord(acct, u); err != nil {
					return err
				}
			}
		} else {
			forgotten++
		}
		if tx != nil {
			if !found {
				// An interrupted delivery's tmp file, if any.
				if err := os.Remove(filepath.Join(folder.Path(), "tmp", e.Key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			if err := tx.DoneJournal(e.ID); err != nil {
				return err
			}
		}
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	res.Recovered = recorded
	f.logf("pop %s: recovery: %d interrupted deliveries completed, %d forgotten", acct, recorded, forgotten)
	return nil
}
