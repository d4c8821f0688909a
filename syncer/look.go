package syncer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mdsync/mdsync/internal/par"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// recent tells whether a directory mtime is too close to the moment it was
// read to be trusted as "unchanged" next time: a change later in the same
// tick of the file system's coarse clock would leave it equal.
func recent(mtime, readAt int64) bool { return readAt-mtime < int64(100*time.Millisecond) }

func nowUnix() int64 { return time.Now().Unix() }

// prepareFolder tells from the state, the local directory mtimes and the
// LIST-STATUS numbers alone whether a folder changed at all: an unchanged
// folder is skipped without a connection, let alone a SELECT.
func prepareFolder(ctx context.Context, o Options, w *folderSync, looks map[string]localLook, journals map[int64][]state.Entry, condstore bool, res *Result) error {
	if w.st == nil {
		if o.DryRun { // change nothing, not even the state
			w.st = &state.Folder{Channel: o.Name, Name: w.name}
		} else {
			st, err := o.DB.EnsureFolder(ctx, o.Name, w.name)
			if err != nil {
				return err
			}
			w.st = st
		}
	}
	st := w.st
	if st.ID != 0 {
		w.journal = journals[st.ID]
	}
	w.in = FolderInput{Name: w.name}
	look, ok := looks[w.name]
	if !ok || look.path != w.local.Path() {
		look = lookLocal(ctx, o.DB, w.local, st)
	}
	if look.err != nil {
		return look.err
	}
	if look.exists {
		w.curM, w.newM, w.mtimeAt = look.cm, look.nm, look.at
		w.in.LocalUnchanged, w.relisted = look.unchanged, look.relisted
		w.listing, w.listingOK = look.listing, look.listingOK
		w.look = look
	}
	rs := w.rstat
	if rs != nil && st.SyncedAt > 0 && rs.UIDValidity == st.UIDValidity && uint32(rs.UIDNext) == st.UIDNext &&
		rs.NumMessages != nil && *rs.NumMessages == st.Messages && condstore && rs.HighestModSeq != 0 && rs.HighestModSeq == st.HighestModSeq {
		w.in.RemoteUnchanged = true
	}
	if w.in.LocalUnchanged && w.in.RemoteUnchanged && len(w.journal) == 0 {
		w.skip = true
		res.add(func(r *Result) { r.Unchanged++ })
	}
	return nil
}

// localLook is how a folder's local side looks at the start of a run.
type localLook struct {
	path       string
	exists     bool
	cm, nm, at int64 // the mtimes of cur/ and new/, and when they were read
	// unchanged: nothing changed since the last sync, by the mtimes or,
	// when they moved, by the listing (relisted)
	unchanged, relisted bool
	listing             maildir.Listing
	listingOK           bool
	// a changed folder's messages and pairs, read ahead
	msgs  map[string]maildir.Message
	local map[string]Local // msgs as the plan takes them
	warns []string
	pairs []state.Pair
	err   error
}

// lookLocal tells whether a folder changed locally since the last sync:
// unchanged mtimes say so at once; moved ones (maybe by our own renames
// of the last run) are checked against the saved listing, read after them.
// A folder that changed is also scanned and its pairs loaded, for the plan
// (startLooks does this in the background, while the server answers).
func lookLocal(ctx context.Context, db *state.DB, lf *maildir.Folder, st *state.Folder) localLook {
	l := localLook{path: lf.Path()}
	if !lf.Exists() {
		return l
	}
	l.exists = true
	cm, nm, err := lf.DirMTimes()
	if err != nil {
		l.err = err
		return l
	}
	l.cm, l.nm, l.at = cm, nm, time.Now().UnixNano()
	var saved maildir.Listing
	savedOK := false
	if st.Listing != "" {
		saved, err = maildir.ParseListing(st.Listing)
		savedOK = err == nil
	}
	switch {
	case st.SyncedAt > 0 && cm == st.CurMTime && nm == st.NewMTime && cm != 0:
		l.unchanged = true
		l.listing, l.listingOK = saved, savedOK
	case st.SyncedAt > 0:
		// The names are hashed first and parsed only if they differ from
		// the saved listing: after our own changes of the last run they
		// usually match.
		var msgs map[string]maildir.Message
		var ls maildir.Listing
		var warns []string
		if savedOK {
			msgs, ls, warns, err = lf.ScanUnless(saved)
		} else {
			msgs, ls, warns, err = lf.ScanListing()
		}
		if err != nil {
			l.err = fmt.Errorf("scan %s: %w", lf.Path(), err)
			return l
		}
		l.listing, l.listingOK = ls, true
		if msgs == nil {
			l.unchanged = true
			l.relisted = !recent(cm, l.at) && !recent(nm, l.at)
			break
		}
		pairs, err := db.PairsBrief(ctx, st.ID) // the meta is loaded if needed (pairSet.withMeta)
		if err != nil {
			l.err = err
			return l
		}
		l.msgs, l.local, l.warns, l.pairs = msgs, localOf(msgs), warns, pairs
	}
	return l
}

// startLooks looks at the local side of every synced folder in the
// background (while the connection is set up and the folders listed); the
// returned function waits for the results. The server's hierarchy
// delimiter is not known yet: '/' is assumed, and prepare looks again at a
// folder whose path turns out different.
func startLooks(ctx context.Context, o Options, folders map[string]*state.Folder) func() map[string]localLook {
	out := make(map[string]localLook, len(folders))
	var mu sync.Mutex
	// One look at a time: the login and the LIST run meanwhile, and the
	// server (on the same machine, when it is near) needs a core for them.
	looks := par.NewGroup(1)
	for name, st := range folders {
		if st.SyncedAt == 0 || !MatchFolder(o.Folders, name, '/') {
			continue
		}
		lf, err := o.Store.Folder(name, '/')
		if err != nil {
			continue
		}
		looks.Queue(func() {
			l := lookLocal(ctx, o.DB, lf, st)
			mu.Lock()
			out[name] = l
			mu.Unlock()
		})
	}
	return func() map[string]localLook {
		looks.Wait()
		return out
	}
}

// saveRelisted stores, in one transaction, the new mtimes of the skipped
// folders whose listing showed them unchanged, so that the next run trusts
// the mtimes again instead of reading the names.
func saveRelisted(ctx context.Context, o Options, works []*folderSync) error {
	var ws []*folderSync
	for _, w := range works {
		if w.err == nil && w.skip && w.relisted {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return nil
	}
	tx, err := o.DB.Begin(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, w := range ws {
		if err := tx.SaveMTimes(w.st.ID, w.curM, w.newM); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// gather collects what changed on each side of a folder that prepare did
// not skip.
func gatherLocal(ctx context.Context, o Options, w *folderSync, res *Result) error {
	st := w.st
	if len(w.journal) > 0 && !o.DryRun {
		if err := recoverFolder(ctx, o, w, w.journal, res); err != nil {
			return fmt.Errorf("recover: %w", err)
		}
		w.journal = nil
		w.look.pairs = nil // recovery changed them
	}
	if w.createLocal && !o.DryRun {
		lf, err := o.Store.CreateFolder(w.name, w.delim)
		if err != nil {
			return err
		}
		w.local = lf
		w.listing, err = lf.ReadListing()
		w.listingOK = err == nil
		res.add(func(r *Result) { r.Created++ })
	}
	if w.in.LocalUnchanged && !w.in.RemoteUnchanged && st.SyncedAt > 0 && !w.createLocal && !w.createRemote {
		// Only the server changed: gatherRemote loads the pairs of the
		// messages CONDSTORE reports changed, or all when it must.
		return nil
	}
	pairs := w.look.pairs
	brief := pairs != nil && !w.createLocal
	if !brief {
		var err error
		if pairs, err = o.DB.Pairs(ctx, st.ID); err != nil {
			return err
		}
	}
	w.setPairs(pairs, brief)
	res.add(func(r *Result) { r.PairsLoaded += len(pairs) })
	if !w.in.LocalUnchanged {
		if w.look.msgs != nil && !w.createLocal {
			setLocal(w, w.look.msgs, w.look.local, w.look.warns, res) // scanned by the look
			return nil
		}
		return scanLocal(w, res)
	}
	return nil
}

// scanLocal lists the local messages of a folder for the plan.
func scanLocal(w *folderSync, res *Result) error {
	msgs := map[string]maildir.Message{}
	var warns []string
	if w.local.Exists() {
		var l maildir.Listing
		var err error
		if msgs, l, warns, err = w.local.ScanListing(); err != nil {
			return fmt.Errorf("scan %s: %w", w.local.Path(), err)
		}
		w.listing, w.listingOK = l, true
	}
	setLocal(w, msgs, nil, warns, res)
	return nil
}

// setLocal makes a scan's messages the local side of the plan (local:
// localOf(msgs), or nil to compute it here).
func setLocal(w *folderSync, msgs map[string]maildir.Message, local map[string]Local, warns []string, res *Result) {
	for _, wn := range warns {
		res.note("%s: %s", w.name, wn)
	}
	if local == nil {
		local = localOf(msgs)
	}
	w.msgs, w.in.Local = msgs, local
}

// localOf is the plan's view of a folder's messages.
func localOf(msgs map[string]maildir.Message) map[string]Local {
	local := make(map[string]Local, len(msgs))
	for k, m := range msgs {
		local[k] = Local{Key: k, Flags: m.Flags}
	}
	return local
}
