package syncer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/state"
)

// Run synchronises a channel.
func Run(ctx context.Context, o Options) (*Result, error) {
	res := &Result{progress: o.Progress}
	tr := o.tracef
	logf := o.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	pool := newPool(o)
	defer pool.closeAll()
	stFolders, err := o.DB.Folders(ctx, o.Name)
	if err != nil {
		return res, err
	}
	looks := startLooks(ctx, o, stFolders)
	defer looks() // no look outlives the run
	var works []*work
	defer func() {
		for _, w := range works {
			w.dropPrefetched() // what no plan took, or a failed folder's
		}
	}()
	var ahead <-chan listResult
	var nsAhead *imapclient.NamespaceCommand
	dialStart := time.Now()
	capsKey := o.Server.Key
	known, _ := o.DB.ServerCaps(ctx, capsKey)
	c0, err := pool.dial(ctx, func(c *imapclient.Client, preLogin imap.CapSet) {
		// only where the greeting announced LIST-STATUS, or the login
		// answer did last time: a server that did neither (Courier) may
		// drop what comes with the login. A server that no longer has it
		// refuses the LIST, and listFolders asks again.
		learned := hasCap(known, imap.CapListStatus) && !hasCap(known, noPipeline)
		if preLogin.Has(imap.CapListStatus) || preLogin.Has(imap.CapIMAP4rev2) || learned {
			ahead = startList(c)
			if o.Server.Prefix == nil && (preLogin.Has(imap.CapNamespace) || hasCap(known, imap.CapNamespace)) {
				nsAhead = c.Namespace() // answered with the LIST
			}
		}
	})
	if err == nil {
		now := capsString(c0.Caps)
		if hasCap(known, noPipeline) {
			now += " " + string(noPipeline)
		}
		if now != known && !o.DryRun {
			_ = o.DB.SaveServerCaps(context.WithoutCancel(ctx), capsKey, now)
		}
	}
	dialTook := time.Since(dialStart)
	if err != nil {
		if ahead != nil && !errors.Is(err, imapconn.ErrAuth) {
			// the connection is closed: the LIST sent ahead has its answer,
			// and when it failed, that is what broke the connection
			if r := <-ahead; r.err != nil {
				var ie *imap.Error
				if !errors.As(r.err, &ie) {
					return res, imapconn.Classify(fmt.Errorf("list folders: %w", r.err))
				}
			}
		}
		return res, err
	}
	tr("dialed")
	nsCmd := nsAhead
	if nsCmd == nil {
		nsCmd = askNamespace(c0, o.Server.Prefix)
	}
	remote, err := listFolders(c0, ahead)
	tr("listed")
	if err != nil && ahead != nil && isTimeout(err) && !o.DryRun {
		// the LIST sent with the login got no answer: never again
		_ = o.DB.SaveServerCaps(context.WithoutCancel(ctx), capsKey, capsString(c0.Caps)+" "+string(noPipeline))
	}
	if err == nil {
		o.ns, err = personalNamespace(nsCmd, o.Server.Prefix)
	}
	if err != nil {
		pool.put(c0, err)
		return res, imapconn.Classify(err)
	}
	pool.o.ns = o.ns
	remote = o.ns.channelFolders(remote)
	delim := '/'
	for _, f := range remote {
		if f.Delim != 0 {
			delim = f.Delim
			break
		}
	}
	localNames, unmapped, err := o.Store.List(delim)
	if err != nil {
		pool.put(c0, nil)
		return res, fmt.Errorf("list local folders: %w", err)
	}
	reportUnmapped(o, unmapped, delim, res)
	sides := map[string]*FolderSides{}
	side := func(n string) *FolderSides {
		if s, ok := sides[n]; ok {
			return s
		}
		s := &FolderSides{Name: n}
		sides[n] = s
		return s
	}
	rstat := map[string]*imap.StatusData{}
	for _, f := range remote {
		if MatchFolder(o.Folders, f.Name, delim) {
			side(f.Name).Remote = true
			rstat[f.Name] = f.Status
		}
	}
	for _, n := range localNames {
		if MatchFolder(o.Folders, n, delim) {
			side(n).Local = true
		}
	}
	for n, f := range stFolders {
		if MatchFolder(o.Folders, n, delim) && f.SyncedAt > 0 {
			side(n).InState = true
		}
	}
	var all []FolderSides
	for _, s := range sides {
		all = append(all, *s)
	}
	if len(all) == 0 {
		res.notice("folders = %q matches no folder on the server or in the maildir: nothing is synced", o.Folders)
	}
	all = followRenames(ctx, o, all, stFolders, rstat, delim, res)
	if o.Only != nil {
		kept := all[:0]
		for _, s := range all {
			if o.only(s.Name) {
				kept = append(kept, s)
			}
		}
		all = kept
	}
	if look := MUTF7Lookalikes(all, delim); len(look) > 0 {
		kept := all[:0]
		for _, s := range all {
			if _, ok := look[s.Name]; ok {
				continue
			}
			kept = append(kept, s)
		}
		all = kept
		for _, l := range slices.Sorted(maps.Keys(look)) {
			res.Errors = append(res.Errors, fmt.Sprintf("local folder %q is the modified UTF-7 spelling of the server's %q (mbsync 1.4 and OfflineIMAP name folders so): set names = \"mutf7\" in the maildir section (mdsync import does), or rename the directory; neither is synced until then", l, look[l]))
			for i := range all {
				if all[i].Name == look[l] {
					all = append(all[:i], all[i+1:]...)
					break
				}
			}
		}
	}
	for _, d := range PlanFolders(all, o.Create, o.Remove) {
		if d.Action.Op != "" {
			res.FolderOps = append(res.FolderOps, d.Action)
			switch d.Action.Op {
			case OpSkipFolder:
				res.Notes = append(res.Notes, Note{Text: d.Action.Reason, Notice: d.Notice})
			case OpRemoveLocal, OpRemoveRemote:
				if o.DryRun {
					break
				}
				if err := removeFolder(ctx, c0, o, d.Action, stFolders[d.Name], rstat[d.Name], delim); err != nil {
					res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", d.Name, err))
				} else {
					res.notice("%s: done", d.Action.Reason)
				}
			}
		}
		if !d.Sync {
			continue
		}
		lf, err := o.Store.Folder(d.Name, delim)
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", d.Name, err))
			continue
		}
		st := stFolders[d.Name]
		if d.Redownload && st != nil {
			res.notice("%s", d.Action.Reason)
			if !o.DryRun {
				if err := forgetFolder(ctx, o.DB, st); err != nil {
					res.Errors = append(res.Errors, fmt.Sprintf("%s: forget the removed folder's state: %v", d.Name, err))
					continue
				}
			}
			st = nil
		}
		works = append(works, &work{name: d.Name, delim: delim, local: lf, st: st, rstat: rstat[d.Name], createLocal: d.CreateLocal, createRemote: d.CreateRemote})
	}
	pool.put(c0, nil)

	// Phase 1: what changed on each side (folders in parallel); folders
	// that changed on neither side are left out before any connection.
	condstore := c0.Caps.Has(imap.CapCondStore)
	lookd := looks()
	// what earlier runs left unfinished, read once for all folders
	entries, err := o.DB.Journal(ctx, state.ChannelOwner(o.Name))
	if err != nil {
		return res, err
	}
	journals := map[int64][]state.Entry{}
	for _, e := range entries {
		journals[e.FolderID] = append(journals[e.FolderID], e)
	}
	local(works, func(w *work) error { return prepare(ctx, o, w, lookd, journals, condstore, res) })
	var changed []*work
	for _, w := range works {
		if w.err == nil && !w.skip {
			changed = append(changed, w)
		}
	}
	if !o.DryRun {
		if err := saveRelisted(ctx, o, works); err != nil {
			return res, err
		}
		// Folders that will likely need the server after their plan (local
		// changes to push, new mail to fetch): log in more connections now,
		// while the first one gathers.
		busy := 0
		incremental := true
		for _, w := range changed {
			st := w.st
			newMail := w.rstat != nil && uint32(w.rstat.UIDNext) != st.UIDNext && !(pipelinable(w, condstore) && prefetchable(o, w))
			if !w.in.LocalUnchanged || w.createLocal || w.createRemote || newMail {
				busy++
			}
			if w.createLocal || w.createRemote || st.SyncedAt == 0 || (w.rstat != nil && uint32(w.rstat.UIDNext) > st.UIDNext+prefetchMax) {
				incremental = false
			}
		}
		if incremental && dialTook < nearServer && pool.max > 2 {
			// A nearby server answers faster than another login pays
			// for itself: an incremental run waits on its CPU, not on
			// round trips (bench/results has the measurements).
			pool.max = 2
		}
		if busy >= 2 {
			pool.warm(ctx, min(busy, pool.max)-1)
		}
	}
	tr("prepared %d changed", len(changed))
	local(changed, func(w *work) error { return gatherLocal(ctx, o, w, res) })
	tr("gathered local")

	// A folder that can take no part in a move between folders is planned
	// and applied on its own, on the connection that gathered it, as soon
	// as it is gathered; the others wait for each other and are planned
	// together (phase 2) so that a local move becomes a server MOVE.
	var anySrc, anyDst bool
	roles := map[*work][2]bool{}
	for _, w := range changed {
		if w.err != nil {
			continue
		}
		src, dst := moveRoles(w)
		roles[w] = [2]bool{src, dst}
		anySrc, anyDst = anySrc || src, anyDst || dst
	}
	policy := o.Policy
	policy.ForceDelete = o.ForceDelete
	byName := map[string]*work{}
	for _, w := range works {
		byName[w.name] = w
	}
	var barrier, direct, localDirect []*work
	for _, w := range changed {
		if w.err != nil {
			continue
		}
		r := roles[w]
		switch {
		case anySrc && anyDst && (r[0] || r[1]):
			barrier = append(barrier, w)
		case w.in.RemoteUnchanged && !w.createRemote:
			fp := PlanFolder(w.in, policy)
			o.Progress.planned(fp)
			w.plan = &fp
			if needsServer(w) {
				direct = append(direct, w)
			} else {
				localDirect = append(localDirect, w)
			}
		default:
			direct = append(direct, w)
		}
	}
	lx := newAside()
	// Plans that need no server are applied aside from now on, in batches
	// (one runs while the next gathers: a pipeline's folders are applied
	// while it goes on, still several in each transaction): those known
	// already, then those of the folders gathered ahead.
	lb := &batches[*work]{run: func(ws []*work) { executeLocal(ctx, o, ws, byName, res) }}
	isDirect := map[*work]bool{}
	for _, w := range direct {
		isDirect[w] = true
	}
	applyAside := func(w *work) {
		w.aside = true
		if !o.DryRun {
			lb.add(w)
		}
	}
	for _, w := range localDirect {
		applyAside(w)
	}
	// The server side of every folder that needs only a SELECT and a FETCH
	// CHANGEDSINCE is gathered first, pipelined on one connection; those
	// whose plan then needs no server are applied aside at once.
	// (Not those with local changes: their plans will need the server,
	// and a worker gathers each with the SELECT it applies it under, sent
	// behind the last command of the folder before.)
	var pipelined []*work
	for _, w := range changed {
		if w.err == nil && w.plan == nil && pipelinable(w, condstore) && w.in.LocalUnchanged {
			pipelined = append(pipelined, w)
		}
	}
	gatherAhead(ctx, pool, o, pipelined, res, func(w *work) {
		if !isDirect[w] {
			return // planned with the others a move may join
		}
		fp := PlanFolder(w.in, policy)
		o.Progress.planned(fp)
		w.plan = &fp
		if !needsServer(w) {
			localDirect = append(localDirect, w)
			applyAside(w)
		}
	})
	tr("gathered ahead %d", len(pipelined))
	var rest []*work
	for _, w := range direct {
		if w.aside {
			continue
		}
		if w.gathered && w.plan == nil {
			fp := PlanFolder(w.in, policy)
			o.Progress.planned(fp)
			w.plan = &fp
			if !needsServer(w) {
				localDirect = append(localDirect, w)
				applyAside(w)
				continue
			}
		}
		rest = append(rest, w)
	}
	commits := newCommitter()
	for _, w := range rest {
		w.late = commits
	}
	pool.each(ctx, rest, func(c *imapconn.Conn, w *work) error {
		w.conn = c // a later retry or phase 3 prefers it: the folder is selected there
		tr("  conn %p: %s", c, w.name)
		if w.plan == nil {
			if err := gather(ctx, c, o, w, res); err != nil {
				return err
			}
			tr("  conn %p: %s gathered", c, w.name)
			fp := PlanFolder(w.in, policy)
			o.Progress.planned(fp)
			w.plan = &fp
		}
		if o.DryRun {
			return nil
		}
		if !needsServer(w) {
			// local changes only: applied aside, the connection moves on
			lx.run(w, func() error { return execute(ctx, nil, o, w, byName, res) })
			return nil
		}
		return execute(ctx, c, o, w, byName, res)
	})
	lx.wait()
	lb.wait()
	commits.wait(rest)

	tr("direct done (%d local, %d conn)", len(localDirect), len(direct))
	// Phases 1 to 3 for the folders a move may join: gather, plan
	// together, apply.
	var needConn []*work
	for _, w := range barrier {
		switch {
		case w.gathered:
		case !w.in.RemoteUnchanged || w.createRemote:
			needConn = append(needConn, w)
		default:
			w.err = gather(ctx, nil, o, w, res)
		}
	}
	pool.each(ctx, needConn, func(c *imapconn.Conn, w *work) error {
		w.conn = c // phase 3 prefers it: the folder is selected there
		return gather(ctx, c, o, w, res)
	})
	var ins []FolderInput
	var planned []*work
	for _, w := range barrier {
		if w.err == nil && w.briefPairs {
			// a move is matched by the fingerprint of the pair gone
			var pairs []state.Pair
			if pairs, w.err = w.metaPairs(ctx, o.DB); w.err == nil {
				w.pairs, w.in.Pairs, w.briefPairs = pairs, pairs, false
			}
		}
		if w.err != nil {
			continue
		}
		ins = append(ins, w.in)
		planned = append(planned, w)
	}
	for i, fp := range Plan(ins, policy) {
		o.Progress.planned(fp)
		fp := fp
		planned[i].plan = &fp
		for _, act := range fp.Actions {
			if dw := byName[act.DstFolder]; act.Op == OpMove && dw != nil {
				// the moved messages' pairs in the destination are
				// recorded by the source's transaction: until then its
				// listing is not settled, and the next run must look
				dw.rescan = true
			}
		}
	}
	if o.DryRun {
		for _, w := range works {
			if w.plan != nil {
				res.Plans = append(res.Plans, *w.plan)
			}
		}
		for _, w := range works {
			if w.err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", w.name, w.err))
			}
		}
		return res, summarize(res)
	}
	var withServer, localOnly []*work
	for _, w := range planned {
		if needsServer(w) {
			withServer = append(withServer, w)
		} else {
			localOnly = append(localOnly, w)
		}
	}
	local(localOnly, func(w *work) error { return execute(ctx, nil, o, w, byName, res) })
	pool.each(ctx, withServer, func(c *imapconn.Conn, w *work) error { return execute(ctx, c, o, w, byName, res) })
	for _, w := range works {
		if w.err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", w.name, w.err))
			logf("%s: %s: error: %v", o.Name, w.name, w.err)
		}
	}
	tr("barrier done %d", len(barrier))
	sort.Strings(res.Errors)
	res.Folders = len(works)
	return res, summarize(res)
}
