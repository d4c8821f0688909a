package syncer

import (
	"fmt"
	"sort"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/state"
)

func (a *applier) store(acts []Action) error {
	cmds := a.storeCmds
	a.storeCmds = nil
	if cmds == nil {
		cmds = a.sendStores(acts)
		a.sendNext(OpStoreFlags)
	}
	for _, cmd := range cmds { // pipelined: all sent, then all awaited
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("store flags: %w", err)
		}
	}
	failpoint.Hit("store.after-server")
	a.record(a.ids[OpStoreFlags], func(tx *state.Tx) error {
		for _, act := range acts {
			if act.Key == "" {
				continue
			}
			if err := a.setPairFlags(tx, act); err != nil {
				return err
			}
		}
		return nil
	})
	a.res.add(func(r *Result) { r.FlagsServer += len(acts) })
	return nil
}

// sendStores sends the flag changes, grouped by change, without waiting.
func (a *applier) sendStores(acts []Action) []*imapclient.FetchCommand {
	failpoint.Hit("store.after-journal")
	type change struct{ add, rm string }
	groups := map[change][]Action{}
	for _, act := range acts {
		groups[change{act.Add, act.Remove}] = append(groups[change{act.Add, act.Remove}], act)
	}
	keys := make([]change, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].add+"/"+keys[i].rm < keys[j].add+"/"+keys[j].rm })
	// a plan made before the folder was selected may hold letters the
	// folder cannot keep: they are not sent (the planner keeps them local
	// once it knows)
	drop := unstorable(a.w.applySel)
	if drop == "" {
		drop = unstorable(a.w.planSel)
	}
	var cmds []*imapclient.FetchCommand
	for _, k := range keys {
		set := uidsOf(groups[k])
		k.add, k.rm = without(k.add, drop), without(k.rm, drop)
		if k.add != "" {
			cmds = append(cmds, a.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flagsOf(k.add)}, nil))
		}
		if k.rm != "" {
			cmds = append(cmds, a.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: flagsOf(k.rm)}, nil))
		}
	}
	return cmds
}

func (a *applier) setLocalFlags(acts []Action) error {
	for _, act := range acts {
		m, ok := a.w.msgs[act.Key]
		if !ok {
			continue
		}
		nm, err := a.w.local.SetFlags(m, withLocalExtras(act.Flags, m.Flags))
		if err != nil {
			return fmt.Errorf("set flags of %s: %w", m.Name, err)
		}
		a.w.msgs[act.Key] = nm
		failpoint.Hit("setflags.after-rename")
	}
	if err := a.syncDirs(); err != nil {
		return err
	}
	a.record(a.ids[OpSetLocalFlags], func(tx *state.Tx) error {
		for _, act := range acts {
			if err := a.setPairFlags(tx, act); err != nil {
				return err
			}
		}
		return nil
	})
	a.res.add(func(r *Result) { r.FlagsLocal += len(acts) })
	return nil
}
