package syncer

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/state"
)

func (a *applier) deleteLocal(acts []Action) error {
	for _, act := range acts {
		m, ok := a.w.msgs[act.Key]
		if !ok {
			continue
		}
		if err := a.w.local.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete %s: %w", m.Name, err)
		}
		failpoint.Hit("delete.after-unlink")
	}
	if err := a.syncDirs(); err != nil {
		return err
	}
	a.record(a.ids[OpDeleteLocal], func(tx *state.Tx) error {
		for _, act := range acts {
			if err := tx.DeletePair(a.w.st.ID, act.UID, act.Key); err != nil {
				return err
			}
		}
		return nil
	})
	a.res.add(func(r *Result) { r.DeletedLocal += len(acts) })
	return nil
}
