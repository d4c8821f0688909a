package syncer

import (
	"github.com/mdsync/mdsync/state"
)

// prepare tells, folder by folder, whether anything changed since the last
// sync (from the state, the directory mtimes and the LIST-STATUS numbers,
// without a connection), finishes what an earlier run left in the journal,
// and gathers the local side of the folders that changed. It returns those
// folders. Connections the changed folders will want are logged in
// meanwhile.
func (r *channelRun) prepare() ([]*folderSync, error) {
	ctx, o, res := r.ctx, r.o, r.res
	looks := r.looks()
	// what earlier runs left unfinished, read once for all folders
	entries, err := o.DB.Journal(ctx, state.ChannelOwner(o.Name))
	if err != nil {
		return nil, err
	}
	journals := map[int64][]state.Entry{}
	for _, e := range entries {
		journals[e.FolderID] = append(journals[e.FolderID], e)
	}
	forEachLocal(r.folders, func(w *folderSync) error { return prepareFolder(ctx, o, w, looks, journals, r.condstore, res) })
	var changed []*folderSync
	for _, w := range r.folders {
		if w.err == nil && !w.skip {
			changed = append(changed, w)
		}
	}
	if !o.DryRun {
		if err := saveRelisted(ctx, o, r.folders); err != nil {
			return nil, err
		}
		r.warmFor(changed)
	}
	r.tracef("prepared %d changed", len(changed))
	forEachLocal(changed, func(w *folderSync) error { return gatherLocal(ctx, o, w, res) })
	r.tracef("gathered local")
	return changed, nil
}

// warmFor logs in, in the background, the connections that the changed
// folders will likely need after their plans (local changes to push, new
// mail to fetch), while the first connection gathers. An incremental run
// against a nearby server uses at most two: it waits on its CPU, not on
// round trips, and another login costs more than it saves.
func (r *channelRun) warmFor(changed []*folderSync) {
	busy := 0
	incremental := true
	for _, w := range changed {
		st := w.st
		newMail := w.rstat != nil && uint32(w.rstat.UIDNext) != st.UIDNext && !(pipelinable(w, r.condstore) && prefetchable(r.o, w))
		if !w.in.LocalUnchanged || w.createLocal || w.createRemote || newMail {
			busy++
		}
		if w.createLocal || w.createRemote || st.SyncedAt == 0 || (w.rstat != nil && uint32(w.rstat.UIDNext) > st.UIDNext+prefetchMax) {
			incremental = false
		}
	}
	if incremental && r.dialTook < nearServer && r.pool.max > 2 {
		r.pool.max = 2
	}
	if busy >= 2 {
		r.pool.warm(r.ctx, min(busy, r.pool.max)-1)
	}
}
