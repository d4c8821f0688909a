package syncer

import (
	"github.com/mdsync/mdsync/internal/par"
	"github.com/mdsync/mdsync/state"
)

// apply applies the routed folders' plans: the aside and direct ones
// first, while the pipeline gathers; the move group last, planned together.
func (r *channelRun) apply(rt routed) {
	r.applyDirect(rt)
	r.applyMoveGroup(rt.moveGroup)
}

// applyDirect applies the plans of the aside and direct folders. Plans that
// need no server are applied aside in batches (one batch runs while the
// next gathers: a pipeline's folders are applied while it goes on, still
// several in each transaction).
func (r *channelRun) applyDirect(rt routed) {
	ctx, o, res := r.ctx, r.o, r.res
	aside := newAsideRunner()
	batch := par.NewBatcher(func(ws []*folderSync) { executeLocal(ctx, o, ws, r.byName, res) })
	goAside := func(w *folderSync) {
		w.batched = true
		if !o.DryRun {
			batch.Add(w)
		}
	}
	for _, w := range rt.aside {
		goAside(w)
	}
	isDirect := make(map[*folderSync]bool, len(rt.direct))
	for _, w := range rt.direct {
		isDirect[w] = true
	}
	// Not the folders with local changes: their plans will need the
	// server, and a worker gathers each with the SELECT it applies it
	// under, sent behind the last command of the folder before.
	var pipelined []*folderSync
	for _, w := range rt.changed {
		if w.err == nil && w.plan == nil && pipelinable(w, r.condstore) && w.in.LocalUnchanged {
			pipelined = append(pipelined, w)
		}
	}
	gatherAhead(ctx, r.pool, o, pipelined, res, func(w *folderSync) {
		if !isDirect[w] {
			return // planned with the move group
		}
		r.plan(w)
		if !needsServer(w) {
			goAside(w)
		}
	})
	r.tracef("gathered ahead %d", len(pipelined))
	var onConn []*folderSync
	for _, w := range rt.direct {
		if w.batched {
			continue
		}
		if w.gathered && w.plan == nil {
			r.plan(w)
			if !needsServer(w) {
				goAside(w)
				continue
			}
		}
		onConn = append(onConn, w)
	}
	commits := newCommitter()
	for _, w := range onConn {
		w.recorder = commits
	}
	r.pool.each(ctx, onConn, func(l *lane, w *folderSync) error {
		w.conn = l.c // a retry prefers it: the folder is selected there
		r.tracef("  conn %p: %s", l.c, w.name)
		if w.plan == nil {
			if err := gather(ctx, l, o, w, res); err != nil {
				return err
			}
			r.tracef("  conn %p: %s gathered", l.c, w.name)
			r.plan(w)
		}
		if o.DryRun {
			return nil
		}
		if !needsServer(w) {
			// local changes only: applied aside, the connection moves on
			aside.run(w, func() error { return execute(ctx, nil, o, w, r.byName, res) })
			return nil
		}
		return execute(ctx, l, o, w, r.byName, res)
	})
	aside.wait()
	batch.Wait()
	commits.wait(onConn)
	r.tracef("direct done (%d aside, %d on connections)", len(rt.aside), len(onConn))
}

// applyMoveGroup gathers what the move group's folders still lack, plans
// them together and applies the plans.
func (r *channelRun) applyMoveGroup(group []*folderSync) {
	if len(group) == 0 {
		return
	}
	ctx, o, res := r.ctx, r.o, r.res
	var needConn []*folderSync
	for _, w := range group {
		switch {
		case w.gathered:
		case !w.in.RemoteUnchanged || w.createRemote:
			needConn = append(needConn, w)
		default:
			w.err = gather(ctx, nil, o, w, res)
		}
	}
	r.pool.each(ctx, needConn, func(l *lane, w *folderSync) error {
		w.conn = l.c // the folder is selected there when its plan is applied
		return gather(ctx, l, o, w, res)
	})
	var ins []FolderInput
	var planned []*folderSync
	for _, w := range group {
		if w.err == nil && w.pairs.brief {
			// a move is matched by the fingerprint of the pair gone
			var pairs []state.Pair
			if pairs, w.err = w.pairs.withMeta(ctx, o.DB, w.st.ID); w.err == nil {
				w.setPairs(pairs, false)
			}
		}
		if w.err != nil {
			continue
		}
		ins = append(ins, w.in)
		planned = append(planned, w)
	}
	files := identifyMoves(planned)
	for i := range planned {
		ins[i] = planned[i].in
	}
	for i, fp := range Plan(ins, r.policy) {
		o.Progress.planned(fp)
		planned[i].plan = &fp
		for _, act := range fp.Actions {
			if dw := r.byName[act.DstFolder]; act.Op == OpMove && dw != nil {
				// the moved messages' pairs in the destination are
				// recorded by the source's transaction: until then its
				// listing is not settled, and the next run must look
				dw.rescan = true
			}
		}
	}
	r.takeMoves(files, planned)
	if o.DryRun {
		return
	}
	var withServer, localOnly []*folderSync
	for _, w := range planned {
		if needsServer(w) {
			withServer = append(withServer, w)
		} else {
			localOnly = append(localOnly, w)
		}
	}
	forEachLocal(localOnly, func(w *folderSync) error { return execute(ctx, nil, o, w, r.byName, res) })
	r.pool.each(ctx, withServer, func(l *lane, w *folderSync) error { return execute(ctx, l, o, w, r.byName, res) })
	r.tracef("move group done %d", len(group))
}
