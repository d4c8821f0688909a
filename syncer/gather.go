package syncer

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/imapconn"
)

// gather collects what changed on the server side of a folder that
// prepare did not skip (gatherLocal ran first), and matches messages new
// on both sides by content.
func gather(ctx context.Context, l *lane, o Options, w *folderSync, res *Result) error {
	c := l.conn()
	condstore := c != nil && c.Caps.Has(imap.CapCondStore)
	if w.createRemote {
		if o.DryRun {
			w.in.RemoteUIDs = map[uint32]bool{}
			w.in.RemoteFlags = map[uint32]string{}
		} else if err := c.Create(o.ns.toServer(w.name), nil).Wait(); err != nil {
			return fmt.Errorf("create %q on the server: %w", w.name, err)
		}
	}
	if !w.in.RemoteUnchanged && !(w.createRemote && o.DryRun) {
		if err := gatherRemote(ctx, l, o, w, condstore, res); err != nil {
			return err
		}
	}
	if err := matchContent(c, o, w, true); err != nil {
		return err
	}
	return arrivalMeta(c, w, true)
}

func gatherRemote(ctx context.Context, l *lane, o Options, w *folderSync, condstore bool, res *Result) error {
	c := l.conn()
	if ask := l.takeAsk(w); ask != nil {
		// sent behind the folder before (applier.sendNext)
		return finishRemote(ctx, c, o, w, *ask, condstore, true, res)
	}
	return finishRemote(ctx, c, o, w, askRemote(c, o, w, condstore, false), condstore, true, res)
}

// remoteAsk is a folder's SELECT and flag FETCH, sent without waiting, and
// maybe the prefetch of its new messages.
type remoteAsk struct {
	sel   *imapclient.SelectCommand
	ahead *imapclient.FetchCommand
	pre   *prefetchRun
	heads *headsRun // instead of pre: the new messages' headers
}

// askRemote sends SELECT and, in the same round trip, the flag changes
// since the last sync (they count only if UIDVALIDITY is unchanged). With
// prefetch, the messages new since then are asked with their bodies
// (startPrefetch), the flag changes only below them: the two sets must not
// overlap, or the client could hand a body to the flag FETCH.
func askRemote(c *imapconn.Conn, o Options, w *folderSync, condstore, prefetch bool) remoteAsk {
	st := w.st
	all := imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}
	a := remoteAsk{sel: c.Select(o.ns.toServer(w.name), &imap.SelectOptions{ReadOnly: o.DryRun, CondStore: condstore})}
	// a folder that may have received moved messages needs their headers
	// (arrivalMeta): asked in this round trip when not their bodies, so that
	// the pipeline never has to leave it to a worker for them
	heads := !prefetch && w.serverMoveDst && w.rstat != nil && uint32(w.rstat.UIDNext) > st.UIDNext && st.UIDNext > 0
	if condstore && st.HighestModSeq != 0 && st.SyncedAt > 0 {
		switch {
		case !prefetch && !heads:
			a.ahead = sendFetchFlags(c, all, st.HighestModSeq, false)
		case st.UIDNext > 1:
			a.ahead = sendFetchFlags(c, imap.UIDSet{imap.UIDRange{Start: 1, Stop: imap.UID(st.UIDNext - 1)}}, st.HighestModSeq, false)
		}
		if prefetch {
			a.pre = startPrefetch(c, o, w)
		} else if heads {
			a.heads = startHeads(c, w)
		}
	}
	return a
}

// errRedo: a folder gathered in a pipeline needs more commands while it is
// selected, and the connection has moved on to other folders.
var errRedo = errors.New("the folder needs a connection of its own")

// finishRemote reads what askRemote asked. selected is false when other
// folders' SELECTs were sent after it: a folder that needs more (a full
// listing, a search for expunged messages) then fails with errRedo.
func finishRemote(ctx context.Context, c *imapconn.Conn, o Options, w *folderSync, ask remoteAsk, condstore, selected bool, res *Result) error {
	st := w.st
	all := imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}
	selCmd, ahead := ask.sel, ask.ahead
	sel, err := selCmd.Wait()
	if err != nil {
		if ahead != nil {
			ahead.Close()
		}
		return fmt.Errorf("select %q: %w", w.name, err)
	}
	loadAll := func() error {
		if w.pairs.loaded {
			return nil
		}
		pairs, err := o.DB.Pairs(ctx, st.ID)
		if err != nil {
			return err
		}
		w.setPairs(pairs, false)
		res.add(func(r *Result) { r.PairsLoaded += len(pairs) })
		return nil
	}
	w.planSel = sel
	in := &w.in
	if in.LocalOnly = unstorable(sel); in.LocalOnly != "" {
		res.note("%s: the server cannot keep the flags %s in this folder (PERMANENTFLAGS): they stay local", w.name, in.LocalOnly)
	}
	if st.UIDValidity != 0 && sel.UIDValidity != st.UIDValidity {
		if st.UVChanged && !o.ForceDelete[w.name] {
			// twice in a row: a server that renumbers the folder on every
			// run (GNU imap4d with mbox) would have it re-matched, or
			// re-uploaded, every time
			return fmt.Errorf("%w: the server changed the UIDVALIDITY of %q again (it did on the last sync too): the folder is held back rather than matched and uploaded anew on every run; if the folder was really recreated twice, run again with --force-delete %q", ErrBlocked, w.name, w.name)
		}
		in.UIDValidityChanged = true
		if in.LocalUnchanged {
			// every message is re-matched by content: the local side is
			// needed whole
			in.LocalUnchanged = false
			if err := scanLocal(w, res); err != nil {
				return err
			}
		}
	}
	incremental := condstore && sel.HighestModSeq != 0 && st.HighestModSeq != 0 && !in.UIDValidityChanged && st.SyncedAt > 0
	var changed *flagListing
	if ahead != nil {
		fl, err := readFlags(ahead, false)
		if err != nil && incremental {
			return fmt.Errorf("%q: %w", w.name, err)
		}
		changed = fl
	}
	if ask.pre != nil {
		// the new messages' flags came with their bodies
		ask.pre.wait()
		if ask.pre.err != nil && incremental {
			return fmt.Errorf("%q: prefetch: %w", w.name, ask.pre.err)
		}
		if changed == nil {
			changed = &flagListing{Flags: map[uint32]string{}}
		}
		for u, f := range ask.pre.flags {
			changed.Flags[u] = f
		}
	}
	if h := ask.heads; h != nil {
		// the new messages' flags came with their headers
		h.wait()
		if h.err != nil && incremental {
			return fmt.Errorf("%q: %w", w.name, h.err)
		}
		if changed == nil {
			changed = &flagListing{Flags: map[uint32]string{}}
		}
		if w.remoteMeta == nil {
			w.remoteMeta = map[uint32]remoteMeta{}
		}
		for u, f := range h.flags {
			changed.Flags[u] = f
			w.remoteMeta[u] = h.meta[u]
		}
	}
	if sel.NumMessages == 0 {
		in.RemoteUIDs, in.RemoteFlags = map[uint32]bool{}, map[uint32]string{}
		return loadAll()
	}
	if !incremental {
		if !selected {
			return errRedo
		}
		if err := loadAll(); err != nil {
			return err
		}
		fl, err := fetchFlags(c, all, 0, false)
		if err != nil {
			return fmt.Errorf("%q: %w", w.name, err)
		}
		in.RemoteFlags = fl.Flags
		in.RemoteUIDs = make(map[uint32]bool, len(fl.Flags))
		for u := range fl.Flags {
			in.RemoteUIDs[u] = true
		}
		return nil
	}
	in.RemoteFlags = map[uint32]string{}
	if changed != nil {
		in.RemoteFlags = changed.Flags
	}
	if !w.pairs.loaded {
		// The messages that changed, and how many the state knows: when
		// none was expunged, those pairs are all the plan needs.
		present, err := o.DB.CountServerPairs(ctx, st.ID)
		if err != nil {
			return err
		}
		uids := make([]uint32, 0, len(in.RemoteFlags))
		for u := range in.RemoteFlags {
			uids = append(uids, u)
		}
		sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
		pairs, err := o.DB.PairsOfUIDs(ctx, st.ID, uids)
		if err != nil {
			return err
		}
		if int(sel.NumMessages) == present+len(uids)-len(pairs) {
			w.setPairs(pairs, false)
			res.add(func(r *Result) { r.PairsLoaded += len(pairs) })
			in.RemoteUIDs = make(map[uint32]bool, len(uids))
			for _, u := range uids {
				in.RemoteUIDs[u] = true
			}
			return nil
		}
		if err := loadAll(); err != nil {
			return err
		}
	}
	paired := make(map[uint32]bool, len(w.pairs.list))
	present := 0
	for _, p := range w.pairs.list {
		if p.UID > 0 {
			paired[p.UID] = true
			present++
		}
	}
	newCount := 0
	for u := range in.RemoteFlags {
		if !paired[u] {
			newCount++
		}
	}
	if int(sel.NumMessages) == present+newCount {
		// Nothing was expunged: the UID set is the pairs plus the new ones.
		in.RemoteUIDs = make(map[uint32]bool, present+newCount)
		for u := range paired {
			in.RemoteUIDs[u] = true
		}
		for u := range in.RemoteFlags {
			in.RemoteUIDs[u] = true
		}
		return nil
	}
	if !selected {
		return errRedo
	}
	uids, err := searchAll(c)
	if err != nil {
		return fmt.Errorf("%q: %w", w.name, err)
	}
	in.RemoteUIDs = uids
	for u := range in.RemoteFlags {
		if !uids[u] {
			delete(in.RemoteFlags, u) // expunged after it changed
		}
	}
	return nil
}
