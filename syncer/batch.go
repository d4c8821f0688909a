package syncer

import (
	"context"

	"github.com/mdsync/mdsync/internal/par"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// executeLocal applies the plans of several folders that need no server
// (local renames and deletions): like execute, but with one transaction
// for all their intents and one for all their outcomes.
func executeLocal(ctx context.Context, o Options, ws []*folderSync, byName map[string]*folderSync, res *Result) {
	type item struct {
		a      *applier
		groups map[Op][]Action
		err    error
	}
	var items []*item
	for _, w := range ws {
		a, groups, err := newApplier(ctx, nil, o, w, byName, res)
		if err != nil {
			w.err = err
			continue
		}
		a.callerSyncs = true
		items = append(items, &item{a: a, groups: groups})
	}
	if len(items) == 0 {
		return
	}
	o.tracef("  local batch: %d prepared", len(items))
	linked := make([]int, len(items))
	err := items[0].a.tx(func(tx *state.Tx) error {
		for i, it := range items {
			var err error
			if linked[i], err = it.a.beginIn(tx, it.groups); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, it := range items {
			it.a.w.err = err
		}
		return
	}
	for i, it := range items {
		it.a.linked(linked[i])
	}
	o.tracef("  local batch: intents committed")
	g := par.NewGroup(maildir.SyncsInFlight)
	for _, it := range items {
		g.Go(func() { it.err = it.a.steps(it.groups) })
	}
	g.Wait()
	// The directory fsyncs after all the renames: the first commits the
	// file system's journal for all of them, the others find little left.
	for _, it := range items {
		g.Go(func() {
			if err := it.a.w.local.SyncDirs(); err != nil {
				// not durable: record none of its outcomes (the journal
				// keeps the intents for the next run)
				it.a.pending, it.a.doneIDs = nil, nil
				if it.err == nil {
					it.err = err
				}
			}
		})
	}
	g.Wait()
	o.tracef("  local batch: applied")
	defer o.tracef("  local batch: outcomes committed")
	err = items[0].a.tx(func(tx *state.Tx) error {
		for _, it := range items {
			if err := it.a.flushIn(tx, it.err == nil); err != nil {
				return err
			}
		}
		return nil
	})
	for _, it := range items {
		it.a.pending, it.a.doneIDs = nil, nil
		it.a.w.release()
		switch {
		case it.err != nil:
			it.a.w.err = it.err
		case err != nil:
			it.a.w.err = err
		}
	}
}
