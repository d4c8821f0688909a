package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// Result counts what a run did.
type Result struct {
	Folders      int      `json:"folders"`
	Unchanged    int      `json:"unchanged"`
	Fetched      int      `json:"fetched"`
	Appended     int      `json:"appended"`
	FlagsServer  int      `json:"flags_to_server"`
	FlagsLocal   int      `json:"flags_to_local"`
	DeletedLocal int      `json:"deleted_local"`
	Expunged     int      `json:"expunged"`
	Moved        int      `json:"moved"`
	Linked       int      `json:"linked"`
	Created      int      `json:"folders_created"`
	Notes        []Note   `json:"notes,omitempty"`
	Errors       []string `json:"errors,omitempty"`

	// PairsLoaded counts the pairs read from the state: a run where only
	// the server changed reads just those of the changed messages.
	PairsLoaded int `json:"-"`
	// Pipelined counts the folders whose server side was gathered in a
	// pipeline (gatherAhead).
	Pipelined int `json:"-"`
	// Prefetched counts the new messages delivered from bodies read in
	// that pipeline (a rename each, no fetch of their own).
	Prefetched int `json:"-"`

	// Arrived lists the messages downloaded, in the order they landed.
	Arrived []Arrival `json:"-"`

	Plans     []FolderPlan `json:"-"` // filled by a dry run
	FolderOps []Action     `json:"-"`
	mu        sync.Mutex
	bytes     int64     // bytes copied, for progress
	progress  *Progress // nil: none
}

func (r *Result) add(f func(r *Result)) {
	r.mu.Lock()
	before, bytes := r.Fetched+r.Appended, r.bytes
	f(r)
	if r.progress != nil {
		r.progress.Done.Add(int64(r.Fetched + r.Appended - before))
		r.progress.Bytes.Add(r.bytes - bytes)
	}
	r.mu.Unlock()
}

// Note is something a run says besides its counts.
type Note struct {
	Text string
	// Notice: worth saying without -v (something the user may not expect:
	// a folder deleted, downloaded again or renamed, messages re-matched,
	// an earlier run's work finished).
	Notice bool
}

func (n Note) String() string { return n.Text }

// MarshalJSON writes a note as its text.
func (n Note) MarshalJSON() ([]byte, error) { return json.Marshal(n.Text) }

// note adds a detail, said with -v.
func (r *Result) note(format string, args ...any) {
	r.add(func(r *Result) { r.Notes = append(r.Notes, Note{Text: fmt.Sprintf(format, args...)}) })
}

// notice adds a note said without -v.
func (r *Result) notice(format string, args ...any) {
	r.add(func(r *Result) { r.Notes = append(r.Notes, Note{Text: fmt.Sprintf(format, args...), Notice: true}) })
}

// ErrFolders is returned (wrapped) when some folders failed and others ran.
var ErrFolders = errors.New("some folders failed")

// ErrBlocked marks a folder held back by the mass-deletion guard.
var ErrBlocked = errors.New("mass-deletion guard")

// work is one folder being synchronised.
type work struct {
	name  string
	delim rune
	st    *state.Folder
	local *maildir.Folder
	rstat *imap.StatusData

	createLocal, createRemote bool

	// gathered in phase 1
	skip       bool
	pairs      []state.Pair
	msgs       map[string]maildir.Message
	localInfo  map[string]LocalInfo
	remoteMeta map[uint32]remoteMeta
	in         FolderInput
	sel        *imap.SelectData // the SELECT the plan was made from
	execSel    *imap.SelectData // a later SELECT to apply it
	// next is the folder its worker serves after this one (see sendNext);
	// preSel its SELECT, sent on preConn behind this one's last command
	next    *work
	preSel  *imapclient.SelectCommand
	preConn *imapconn.Conn
	// preAsk: instead of preSel, the folder's gather (SELECT and flag
	// changes) sent on preConn behind the last command of the one before
	preAsk     *remoteAsk
	journal    []state.Entry
	lazyPairs  bool           // pairs not loaded yet (only the server changed)
	conn       *imapconn.Conn // the connection gather used
	curM, newM int64
	mtimeAt    int64 // when curM and newM were read
	// listing is the local listing at the start (from the state when the
	// mtimes are unchanged, else read or scanned), if known: saveFolder
	// stores it plus what this run changed locally.
	listing   maildir.Listing
	listingOK bool
	// relisted: the mtimes changed but the listing did not (only our own
	// changes of the last run): store the new mtimes even if skipped.
	relisted bool
	late     *committer // records the final outcomes (nil: execute does)
	lateErr  error      // the late record's error
	gathered bool       // gatherAhead gathered the server side
	// briefPairs: pairs lack their meta (state.DB.PairsBrief); metaPairs
	// loads it once when an outcome to record needs it
	briefPairs bool
	metaOnce   sync.Once
	meta       []state.Pair
	metaErr    error
	ahead      localLook // the local look, with a changed folder's messages and pairs
	// pre: bodies of new messages prefetched into tmp/ by gatherAhead
	pre map[uint32]*prefetched
	// aside: the plan needs no server and is applied aside in a batch
	// (executeLocal; in a dry run, not at all)
	aside bool
	// rescan: this run left local messages the state does not pair
	// (uploads without APPENDUID): the next run must list the folder.
	rescan   bool
	plan     *FolderPlan
	executed bool // execute ran once already (this is a retry)
	err      error
}

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

func summarize(res *Result) error {
	if len(res.Errors) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrFolders, strings.Join(res.Errors, "; "))
}

// connPool hands out up to max logged-in connections.
type connPool struct {
	o    Options
	max  int
	mu   sync.Mutex
	idle []*imapconn.Conn
	all  []*imapconn.Conn
	// warm dials: in flight, and claimed by a get waiting for one
	warming, claims int
	warmed          *sync.Cond // on mu: a warm dial ended
	wwg             sync.WaitGroup
}

func newPool(o Options) *connPool {
	p := &connPool{o: o, max: o.Server.MaxConnections}
	p.warmed = sync.NewCond(&p.mu)
	return p
}

// warm starts up to n more logins in the background (within max), for
// work that is known to come.
func (p *connPool) warm(ctx context.Context, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; i < n && len(p.all)+p.warming < p.max; i++ {
		p.warming++
		p.wwg.Add(1)
		go func() {
			defer p.wwg.Done()
			c, err := p.dial(ctx, nil)
			p.mu.Lock()
			p.warming--
			if err == nil {
				p.idle = append(p.idle, c)
			}
			p.mu.Unlock()
			p.warmed.Broadcast()
		}()
	}
}

func (p *connPool) get(ctx context.Context) (*imapconn.Conn, error) {
	p.mu.Lock()
	claimed := false
	for {
		for len(p.idle) > 0 {
			c := p.idle[len(p.idle)-1]
			p.idle = p.idle[:len(p.idle)-1]
			select {
			case <-c.Closed(): // timed out while idle, or dropped by the server
				continue
			default:
			}
			if claimed {
				p.claims--
			}
			p.mu.Unlock()
			return c, nil
		}
		// wait for a warm dial nobody else waits for, else dial
		if !claimed && p.warming > p.claims {
			p.claims++
			claimed = true
		}
		if !claimed || p.warming == 0 {
			break
		}
		p.warmed.Wait()
	}
	if claimed {
		p.claims--
	}
	p.mu.Unlock()
	return p.dial(ctx, nil)
}

// dial opens a new connection; pipeline sends commands along with LOGIN.
func (p *connPool) dial(ctx context.Context, pipeline func(*imapclient.Client, imap.CapSet)) (*imapconn.Conn, error) {
	c, err := p.o.Server.Dial(ctx, pipeline)
	if err != nil {
		return nil, err
	}
	// An interrupt ends what the connection is doing at once: reads and
	// writes in flight fail, what is done is recorded, nothing new starts.
	context.AfterFunc(ctx, c.Abort)
	p.mu.Lock()
	p.all = append(p.all, c)
	p.mu.Unlock()
	return c, nil
}

// put returns a connection; a connection that saw a network error is dropped.
func (p *connPool) put(c *imapconn.Conn, err error) {
	if c == nil {
		return
	}
	if err != nil && isConnError(err) {
		c.Abort()
		return
	}
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func (p *connPool) closeAll() {
	p.wwg.Wait() // a warm dial still under way ends in p.all
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.all {
		c.Close()
	}
}

// isTimeout tells a stalled server (not worth a retry in this run) from a
// dropped connection (retried once on a fresh one).
func isTimeout(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// go-imap wraps read errors with %v ("in response: cannot read tag:
	// ... i/o timeout"): the net.Error is gone, only its text is left.
	return err != nil && strings.Contains(err.Error(), os.ErrDeadlineExceeded.Error())
}

func isConnError(err error) bool {
	var ie *imap.Error
	return !errors.As(err, &ie) && !errors.Is(err, ErrBlocked)
}

// each runs fn over the works on up to max connections. A folder whose
// connection broke is retried once on a fresh connection.
func (p *connPool) each(ctx context.Context, ws []*work, fn func(*imapconn.Conn, *work) error) {
	n := p.max
	if n > len(ws) {
		n = len(ws)
	}
	// Every worker holds a connection before it takes a folder: one that
	// has a connection at hand starts at once while the others are still
	// dialling, and a worker that cannot connect leaves its share to the
	// others.
	// A folder goes preferably to the worker holding the connection it was
	// gathered on (still selected there: no second SELECT); the rest are
	// shared.
	affine := map[*imapconn.Conn][]*work{}
	shared := make(chan *work, len(ws))
	p.mu.Lock()
	idle := map[*imapconn.Conn]bool{}
	for _, c := range p.idle {
		idle[c] = true
	}
	p.mu.Unlock()
	for _, w := range ws {
		if w.conn != nil && idle[w.conn] {
			affine[w.conn] = append(affine[w.conn], w)
		} else {
			shared <- w
		}
	}
	close(shared)
	var wg sync.WaitGroup
	var dialErr error
	var mu sync.Mutex
	run := func(c *imapconn.Conn, w *work) *imapconn.Conn {
		for attempt := 0; attempt < 2; attempt++ {
			if c == nil {
				var err error
				if c, err = p.get(ctx); err != nil {
					w.err = err
					return nil
				}
			}
			w.err = fn(c, w)
			if w.err != nil && isConnError(w.err) {
				p.put(c, w.err) // dropped
				c = nil
			}
			if w.err == nil || !isConnError(w.err) || isTimeout(w.err) || ctx.Err() != nil {
				break
			}
		}
		return c
	}
	// serve runs a worker's folders: its own first, then shared ones. The
	// next folder is claimed before the current one runs, so that its
	// SELECT can follow the current one's last command (w.next).
	serve := func(c *imapconn.Conn, own []*work) *imapconn.Conn {
		take := func() *work {
			if len(own) > 0 {
				w := own[0]
				own = own[1:]
				return w
			}
			if w, ok := <-shared; ok {
				return w
			}
			return nil
		}
		for cur := take(); cur != nil; {
			nxt := take()
			cur.next = nxt
			c = run(c, cur)
			cur.next = nil
			if nxt != nil && nxt.preConn != c {
				nxt.preSel, nxt.preAsk, nxt.preConn = nil, nil, nil // sent on a connection since dropped
			}
			cur = nxt
		}
		return c
	}
	workers := 0
	// folders whose connection could not be taken back go to the first of
	// the other workers
	var rest []*work
	for c, group := range affine {
		if !p.take(c) {
			for _, w := range group {
				w.conn = nil
			}
			rest = append(rest, group...)
			continue
		}
		workers++
		wg.Add(1)
		go func(c *imapconn.Conn, group []*work) {
			defer wg.Done()
			if c = serve(c, group); c != nil {
				p.put(c, nil)
			}
		}(c, group)
	}
	for i := workers; i < n || (len(rest) > 0 && i == workers); i++ {
		wg.Add(1)
		go func(first bool) {
			defer wg.Done()
			c, err := p.get(ctx)
			if err != nil {
				mu.Lock()
				dialErr = err
				mu.Unlock()
				if first {
					for _, w := range rest {
						w.err = err
					}
				}
				return
			}
			var own []*work
			if first {
				own = rest
			}
			if c = serve(c, own); c != nil {
				p.put(c, nil)
			}
		}(i == workers)
	}
	wg.Wait()
	for w := range shared { // left over when no worker could connect
		w.err = dialErr
	}
}

// take removes an idle connection from the pool for a worker; false if it
// is gone or dead.
func (p *connPool) take(c *imapconn.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, ic := range p.idle {
		if ic == c {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			select {
			case <-c.Closed():
				return false
			default:
				return true
			}
		}
	}
	return false
}

// aside runs folders' work that needs no connection in the background, a
// few at a time (while the connections go on with other folders); wait
// records their errors.
type aside struct {
	wg   sync.WaitGroup
	sem  chan struct{}
	mu   sync.Mutex
	errs map[*work]error
}

func newAside() *aside { return &aside{sem: make(chan struct{}, 4), errs: map[*work]error{}} }

func (a *aside) run(w *work, fn func() error) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.sem <- struct{}{}
		err := fn()
		<-a.sem
		a.mu.Lock()
		a.errs[w] = err
		a.mu.Unlock()
	}()
}

// batches runs run over the items added, in batches: while one batch
// runs, the items added meanwhile wait for the next (group commit).
type batches[T any] struct {
	mu      sync.Mutex
	queue   []T
	running bool
	wg      sync.WaitGroup
	run     func([]T)
}

func (b *batches[T]) add(x T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = append(b.queue, x)
	if !b.running {
		b.running = true
		b.wg.Add(1)
		go b.loop()
	}
}

func (b *batches[T]) loop() {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		q := b.queue
		b.queue = nil
		if len(q) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.run(q)
	}
}

// later runs fn in the background (it may add), counted by wait.
func (b *batches[T]) later(fn func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fn()
	}()
}

// wait waits for every item added so far.
func (b *batches[T]) wait() { b.wg.Wait() }

// wait waits for every plan run so far and records their errors.
func (a *aside) wait() {
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	for w, err := range a.errs {
		if err != nil {
			w.err = err
		}
	}
	a.errs = map[*work]error{}
}

// local runs fn over works that need no connection, a few at a time (their
// cost is fsyncs and reads, which overlap), and waits for them.
func local(ws []*work, fn func(*work) error) {
	lx := newAside()
	for _, w := range ws {
		lx.run(w, func() error { return fn(w) })
	}
	lx.wait()
}

// ---- phase 1 ----

// recent tells whether a directory mtime is too close to the moment it was
// read to be trusted as "unchanged" next time: a change later in the same
// tick of the file system's coarse clock would leave it equal.
func recent(mtime, readAt int64) bool { return readAt-mtime < int64(100*time.Millisecond) }

func nowUnix() int64 { return time.Now().Unix() }

// prepare tells from the state, the local directory mtimes and the
// LIST-STATUS numbers alone whether a folder changed at all: an unchanged
// folder is skipped without a connection, let alone a SELECT.
func prepare(ctx context.Context, o Options, w *work, looks map[string]localLook, journals map[int64][]state.Entry, condstore bool, res *Result) error {
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
		w.ahead = look
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
		pairs, err := db.PairsBrief(ctx, st.ID) // the meta is loaded if needed (metaPairs)
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
	var wg sync.WaitGroup
	// One look at a time: the login and the LIST run meanwhile, and the
	// server (on the same machine, when it is near) needs a core for them.
	sem := make(chan struct{}, 1)
	for name, st := range folders {
		if st.SyncedAt == 0 || !MatchFolder(o.Folders, name, '/') {
			continue
		}
		lf, err := o.Store.Folder(name, '/')
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			l := lookLocal(ctx, o.DB, lf, st)
			<-sem
			mu.Lock()
			out[name] = l
			mu.Unlock()
		}()
	}
	return func() map[string]localLook {
		wg.Wait()
		return out
	}
}

// pipelineDepth is how many folders' SELECT and FETCH gatherAhead keeps
// in flight on its connection.
const pipelineDepth = 16

// nearServer: a first login that took less is from a server near enough
// that an incremental run uses at most two connections.
const nearServer = 30 * time.Millisecond

// pipelinable tells whether a folder's server side can be gathered in a
// pipeline: it needs SELECT and FETCH CHANGEDSINCE, and usually no more.
func pipelinable(w *work, condstore bool) bool {
	return condstore && !w.createRemote && !w.in.RemoteUnchanged && w.st.HighestModSeq != 0 && w.st.SyncedAt > 0
}

// gatherAhead gathers the server side of folders on one connection with
// their commands pipelined, pipelineDepth folders ahead: one round trip
// for all where one per folder would do. A folder that needs more while
// selected (expunges to find, messages to match by content, a UIDVALIDITY
// change), or whose commands failed, is left ungathered for gather; the
// last one stays selected on the connection.
func gatherAhead(ctx context.Context, pool *connPool, o Options, ws []*work, res *Result, gathered func(*work)) {
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
		switch {
		case err == nil:
			w.gathered = true
			res.add(func(r *Result) { r.Pipelined++ })
			if last {
				w.conn = c
			}
			gathered(w)
		case errors.Is(err, errRedo):
		case isConnError(err) && broken == nil:
			broken = err
		}
	}
	pool.put(c, broken)
}

// saveRelisted stores, in one transaction, the new mtimes of the skipped
// folders whose listing showed them unchanged, so that the next run trusts
// the mtimes again instead of reading the names.
func saveRelisted(ctx context.Context, o Options, works []*work) error {
	var ws []*work
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
func gatherLocal(ctx context.Context, o Options, w *work, res *Result) error {
	st := w.st
	if len(w.journal) > 0 && !o.DryRun {
		if err := recoverFolder(ctx, o, w, w.journal, res); err != nil {
			return fmt.Errorf("recover: %w", err)
		}
		w.journal = nil
		w.ahead.pairs = nil // recovery changed them
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
		w.lazyPairs = true
		return nil
	}
	pairs := w.ahead.pairs
	w.briefPairs = pairs != nil && !w.createLocal
	if !w.briefPairs {
		var err error
		if pairs, err = o.DB.Pairs(ctx, st.ID); err != nil {
			return err
		}
	}
	w.pairs = pairs
	w.in.Pairs = pairs
	res.add(func(r *Result) { r.PairsLoaded += len(pairs) })
	if !w.in.LocalUnchanged {
		if w.ahead.msgs != nil && !w.createLocal {
			setLocal(w, w.ahead.msgs, w.ahead.local, w.ahead.warns, res) // scanned by the look
			return nil
		}
		return scanLocal(w, res)
	}
	return nil
}

// scanLocal lists the local messages of a folder for the plan.
func scanLocal(w *work, res *Result) error {
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
func setLocal(w *work, msgs map[string]maildir.Message, local map[string]Local, warns []string, res *Result) {
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

// release drops what a folder's sync held in memory (its listings, pairs
// and plan) once the outcome is recorded and nothing retries it: a big
// account is not held whole until the end of the run.
func (w *work) release() {
	w.in = FolderInput{Name: w.name}
	w.pairs, w.msgs, w.localInfo, w.remoteMeta, w.meta = nil, nil, nil, nil, nil
	w.ahead = localLook{}
	w.dropPrefetched()
	if w.plan != nil {
		w.plan = &FolderPlan{Name: w.plan.Name, Blocked: w.plan.Blocked}
	}
}

// metaPairs returns the folder's pairs with their meta (size,
// fingerprint, Message-ID): w.pairs, or, when those are brief, all of them
// read once from the state.
func (w *work) metaPairs(ctx context.Context, db *state.DB) ([]state.Pair, error) {
	if !w.briefPairs {
		return w.pairs, nil
	}
	w.metaOnce.Do(func() { w.meta, w.metaErr = db.Pairs(ctx, w.st.ID) })
	return w.meta, w.metaErr
}

// moveRoles tells whether a folder can take part in a local move between
// folders: as a source (a synced message is gone from it) or as a
// destination (it holds a message the state does not know).
func moveRoles(w *work) (src, dst bool) {
	if w.in.LocalUnchanged {
		return false, false
	}
	// A folder's pairs have distinct keys: when fewer of them are found
	// in the folder than it holds, some message there is new.
	found := 0
	for _, p := range w.pairs {
		if p.Key == "" {
			continue
		}
		if _, ok := w.in.Local[p.Key]; ok {
			found++
		} else {
			src = true
		}
	}
	return src, found < len(w.in.Local)
}

// gather collects what changed on the server side of a folder that
// prepare did not skip (gatherLocal ran first), and matches messages new
// on both sides by content.
func gather(ctx context.Context, c *imapconn.Conn, o Options, w *work, res *Result) error {
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
		if err := gatherRemote(ctx, c, o, w, condstore, res); err != nil {
			return err
		}
	}
	return matchContent(c, o, w, true)
}

func gatherRemote(ctx context.Context, c *imapconn.Conn, o Options, w *work, condstore bool, res *Result) error {
	if ask := w.preAsk; ask != nil && w.preConn == c {
		// sent behind the folder before (applier.sendNext)
		w.preAsk, w.preConn = nil, nil
		return finishRemote(ctx, c, o, w, *ask, condstore, true, res)
	}
	w.preAsk, w.preConn = nil, nil
	return finishRemote(ctx, c, o, w, askRemote(c, o, w, condstore, false), condstore, true, res)
}

// remoteAsk is a folder's SELECT and flag FETCH, sent without waiting, and
// maybe the prefetch of its new messages.
type remoteAsk struct {
	sel   *imapclient.SelectCommand
	ahead *imapclient.FetchCommand
	pre   *prefetchRun
}

// askRemote sends SELECT and, in the same round trip, the flag changes
// since the last sync (they count only if UIDVALIDITY is unchanged). With
// prefetch, the messages new since then are asked with their bodies
// (startPrefetch), the flag changes only below them: the two sets must not
// overlap, or the client could hand a body to the flag FETCH.
func askRemote(c *imapconn.Conn, o Options, w *work, condstore, prefetch bool) remoteAsk {
	st := w.st
	all := imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}
	a := remoteAsk{sel: c.Select(o.ns.toServer(w.name), &imap.SelectOptions{ReadOnly: o.DryRun, CondStore: condstore})}
	if condstore && st.HighestModSeq != 0 && st.SyncedAt > 0 {
		switch {
		case !prefetch:
			a.ahead = sendFetchFlags(c, all, st.HighestModSeq, false)
		case st.UIDNext > 1:
			a.ahead = sendFetchFlags(c, imap.UIDSet{imap.UIDRange{Start: 1, Stop: imap.UID(st.UIDNext - 1)}}, st.HighestModSeq, false)
		}
		if prefetch {
			a.pre = startPrefetch(c, o, w)
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
func finishRemote(ctx context.Context, c *imapconn.Conn, o Options, w *work, ask remoteAsk, condstore, selected bool, res *Result) error {
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
		if !w.lazyPairs {
			return nil
		}
		pairs, err := o.DB.Pairs(ctx, st.ID)
		if err != nil {
			return err
		}
		w.pairs, w.in.Pairs, w.lazyPairs = pairs, pairs, false
		res.add(func(r *Result) { r.PairsLoaded += len(pairs) })
		return nil
	}
	w.sel = sel
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
	if w.lazyPairs {
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
			w.pairs, in.Pairs, w.lazyPairs = pairs, pairs, false
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
	paired := make(map[uint32]bool, len(w.pairs))
	present := 0
	for _, p := range w.pairs {
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

// removeFolder propagates a folder deletion (remove policy), but only when
// the folder holds nothing the state does not know: a message that arrived
// since the last sync keeps the folder, and the run says so.
func removeFolder(ctx context.Context, c *imapconn.Conn, o Options, act Action, st *state.Folder, rs *imap.StatusData, delim rune) error {
	if st == nil {
		return nil
	}
	pairs, err := o.DB.Pairs(ctx, st.ID)
	if err != nil {
		return err
	}
	switch act.Op {
	case OpRemoveRemote:
		n := 0
		for _, p := range pairs {
			if p.UID > 0 {
				n++
			}
		}
		if rs == nil || rs.NumMessages == nil || int(*rs.NumMessages) != n || uint32(rs.UIDNext) != st.UIDNext || rs.UIDValidity != st.UIDValidity {
			return fmt.Errorf("not deleted on the server: it changed since the last sync")
		}
		if err := c.Delete(o.ns.toServer(act.Folder)).Wait(); err != nil {
			return fmt.Errorf("delete %q on the server: %w", act.Folder, err)
		}
	case OpRemoveLocal:
		lf, err := o.Store.Folder(act.Folder, delim)
		if err != nil {
			return err
		}
		msgs, _, err := lf.ScanNames()
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, p := range pairs {
			known[p.Key] = true
		}
		for k := range msgs {
			if !known[k] {
				return fmt.Errorf("not deleted locally: it holds messages never synced")
			}
		}
		for _, m := range msgs {
			if err := lf.Remove(m); err != nil {
				return err
			}
		}
		for _, sub := range []string{"tmp", "new", "cur"} {
			if err := os.RemoveAll(filepath.Join(lf.Path(), sub)); err != nil {
				return err
			}
		}
		os.Remove(filepath.Join(lf.Path(), "maildirfolder"))
		os.Remove(lf.Path()) // stays when it holds sub-folders
	}
	tx, err := o.DB.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.DeleteFolder(st.ID); err != nil {
		return err
	}
	return tx.Commit()
}

// noPipeline, among an account's remembered capabilities, says that a LIST
// sent with the login went unanswered once: it is not sent so again.
const noPipeline imap.Cap = "X-MDSYNC-NO-PIPELINE"

// capsString is a capability set as one sorted, space-separated string.
func capsString(cs imap.CapSet) string {
	var l []string
	for c := range cs {
		l = append(l, string(c))
	}
	sort.Strings(l)
	return strings.Join(l, " ")
}

// hasCap tells whether a capsString holds c.
func hasCap(caps string, c imap.Cap) bool {
	for _, f := range strings.Fields(caps) {
		if strings.EqualFold(f, string(c)) {
			return true
		}
	}
	return false
}

// followRenames renames locally the folders the server renamed
// (ServerRenames; the new name's UIDNEXT not below what the state saw),
// directory and state alike, so that their messages are neither
// downloaded again nor left twice under the old name.
func followRenames(ctx context.Context, o Options, all []FolderSides, stFolders map[string]*state.Folder, rstat map[string]*imap.StatusData, delim rune, res *Result) []FolderSides {
	oldUV, newUV := map[string]uint32{}, map[string]uint32{}
	for n, f := range stFolders {
		oldUV[n] = f.UIDValidity
	}
	for n, st := range rstat {
		if st != nil {
			newUV[n] = st.UIDValidity
		}
	}
	renames := ServerRenames(all, oldUV, newUV)
	if len(renames) == 0 {
		return all
	}
	olds := slices.Sorted(maps.Keys(renames)) // parents before children
	done := map[string]bool{}
	for _, old := range olds {
		nw, st := renames[old], stFolders[old]
		if rs := rstat[nw]; rs == nil || uint32(rs.UIDNext) < st.UIDNext {
			continue
		}
		if !o.DryRun {
			if err := o.Store.RenameFolder(old, nw, delim); err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("%s: follow the server's rename to %q: %v", old, nw, err))
				continue
			}
			tx, err := o.DB.BeginDurable(context.WithoutCancel(ctx))
			if err == nil {
				err = tx.RenameFolder(st.ID, nw)
				if err == nil {
					err = tx.Commit()
				} else {
					tx.Rollback()
				}
			}
			if err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("%s: record the rename to %q: %v", old, nw, err))
				continue
			}
		}
		done[old], done[nw] = true, true
		if o.DryRun {
			// planned as it will be once renamed: not at all this run
			res.notice("%q was renamed to %q on the server: would be renamed locally", old, nw)
			continue
		}
		res.notice("%q was renamed to %q on the server: renamed locally", old, nw)
		st.Name = nw
		stFolders[nw] = st
		delete(stFolders, old)
	}
	kept := all[:0]
	for _, s := range all {
		if !done[s.Name] {
			kept = append(kept, s)
		}
	}
	for _, old := range olds {
		if done[old] && !o.DryRun {
			kept = append(kept, FolderSides{Name: renames[old], Local: true, Remote: true, InState: true})
		}
	}
	return kept
}

// forgetFolder drops a folder's state (pairs, numbers, journal).
func forgetFolder(ctx context.Context, db *state.DB, st *state.Folder) error {
	tx, err := db.BeginDurable(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.DeleteFolder(st.ID); err != nil {
		return err
	}
	return tx.Commit()
}

// needsServer tells whether a folder's plan sends anything to the server.
func needsServer(w *work) bool {
	if w.plan.Blocked != "" {
		return false
	}
	return w.anyToServer(w.plan.Actions)
}

// toServer tells whether an action of the folder sends anything to the
// server (a fetch whose body is prefetched does not).
func (w *work) toServer(act Action) bool {
	switch act.Op {
	case OpExpunge, OpMove, OpStoreFlags, OpAppend:
		return true
	case OpFetch:
		return !w.isPrefetched(act)
	}
	return false
}

// anyToServer tells whether any of acts sends anything to the server.
func (w *work) anyToServer(acts []Action) bool {
	for _, act := range acts {
		if w.toServer(act) {
			return true
		}
	}
	return false
}
