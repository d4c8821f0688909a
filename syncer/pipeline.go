package syncer

import (
	"context"
	"errors"
	"time"
)

// pipelineDepth is how many folders' SELECT and FETCH gatherAhead keeps
// in flight on its connection.
const pipelineDepth = 16

// nearServer: a first login that took less is from a server near enough
// that an incremental run uses at most two connections.
const nearServer = 30 * time.Millisecond

// pipelinable tells whether a folder's server side can be gathered in a
// pipeline: it needs SELECT and FETCH CHANGEDSINCE, and usually no more.
func pipelinable(w *folderSync, condstore bool) bool {
	return condstore && !w.createRemote && !w.in.RemoteUnchanged && w.st.HighestModSeq != 0 && w.st.SyncedAt > 0
}

// gatherAhead gathers the server side of folders on one connection with
// their commands pipelined, pipelineDepth folders ahead: one round trip
// for all where one per folder would do. A folder that needs more while
// selected (expunges to find, messages to match by content, a UIDVALIDITY
// change), or whose commands failed, is left ungathered for gather; the
// last one stays selected on the connection.
func gatherAhead(ctx context.Context, pool *connPool, o Options, ws []*folderSync, res *Result, gathered func(*folderSync)) {
	if len(ws) < 2 {
		return // nothing to overlap
	}
	c, err := pool.get(ctx)
	if err != nil {
		return // gather dials again and reports it
	}
	asks := make([]remoteAsk, len(ws))
	sent := 0
	var broken error
	for i, w := range ws {
		for ; sent < len(ws) && sent <= i+pipelineDepth; sent++ {
			asks[sent] = askRemote(c, o, ws[sent], true, prefetchable(o, ws[sent]))
		}
		last := i == len(ws)-1
		hadPairs := w.pairs.loaded
		err := finishRemote(ctx, c, o, w, asks[i], true, last, res)
		if r := asks[i].pre; r != nil {
			r.take(w, (err == nil || errors.Is(err, errRedo)) && !w.in.UIDValidityChanged)
			if err == nil && isConnError(r.err) {
				err = r.err
			}
		}
		if err == nil {
			err = matchContent(c, o, w, last)
		}
		if err == nil {
			err = arrivalMeta(c, w, last)
		}
		switch {
		case err == nil:
			w.gathered = true
			res.add(func(r *Result) { r.Pipelined++ })
			if last {
				w.conn = c
			}
			gathered(w)
		case errors.Is(err, errRedo):
			if !hadPairs {
				// the pairs of its changed messages only: the gather on a
				// connection of its own decides again which it needs
				w.pairs, w.in.Pairs = pairSet{}, nil
			}
		case isConnError(err) && broken == nil:
			broken = err
		}
	}
	pool.put(c, broken)
}
