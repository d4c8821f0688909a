package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// fetchBatch is how many messages one journal transaction covers.
const fetchBatch = 500

type applier struct {
	ctx    context.Context
	c      *imapconn.Conn
	o      Options
	w      *work
	byName map[string]*work
	res    *Result

	// ids holds the journal entries of each group of actions, committed
	// before any side effect; pending holds the outcomes recorded since,
	// committed together (with their entries marked done) by flush.
	ids     map[Op][]int64
	pending []func(tx *state.Tx) error
	doneIDs []int64
	// storeCmds are flag changes already sent, awaited by store.
	storeCmds []*imapclient.FetchCommand
	// lastOp is the step whose commands are the plan's last to the server
	// (sendNext may follow them); "" when that is not known ahead
	lastOp Op
	// lastBatch: the fetch batch under way is the last
	lastBatch bool
	// sentNext: sendNext sent the next folder's SELECT
	sentNext bool
	// lateSync: the caller fsyncs the folder's directories after the
	// steps, before it records their outcomes (executeLocal).
	lateSync bool
	// asyncTail: fetch batches wait for their fsyncs and record their
	// messages in the background (tails); waitTails before anything that
	// reads the state of the folder.
	asyncTail bool
	tails     sync.WaitGroup
	tailMu    sync.Mutex
	tailErr   error
	// olds: the folder's pairs as the state had them (oldPair)
	olds *pairIndex
}

// syncDirs makes the renames and deletions so far durable, unless the
// caller does it later for several folders at once.
func (a *applier) syncDirs() error {
	if a.lateSync {
		return nil
	}
	return a.w.local.SyncDirs()
}

// execute applies a folder's plan.
func execute(ctx context.Context, c *imapconn.Conn, o Options, w *work, byName map[string]*work, res *Result) error {
	a, groups, err := newApplier(ctx, c, o, w, byName, res)
	if err != nil {
		return err
	}
	o.Progress.setFolder(w.name)
	o.tracef("    %s selected", w.name)
	// One transaction for what needs no side effect and for the intent of
	// everything else; then the side effects; then one transaction for
	// their outcomes and the folder's numbers.
	if err := a.begin(groups); err != nil {
		return err
	}
	o.tracef("    %s began", w.name)
	a.asyncTail = w.late != nil
	switch {
	case c == nil || len(groups[OpAppend])+len(groups[OpMove]) > 0:
	case w.anyToServer(groups[OpFetch]):
		a.lastOp = OpFetch
	case len(groups[OpExpunge]) > 0:
		if c.Caps.Has(imap.CapUIDPlus) || c.Caps.Has(imap.CapIMAP4rev2) {
			a.lastOp = OpExpunge // the flag STOREs went out before it
		}
	case len(groups[OpStoreFlags]) > 0:
		a.lastOp = OpStoreFlags
	}
	if err := a.steps(groups); err != nil {
		err = errors.Join(err, a.waitTails())    // a retry reads what they recorded
		if ferr := a.flush(false); ferr != nil { // keep what was done
			return errors.Join(err, ferr)
		}
		return err
	}
	o.tracef("    %s steps done", w.name)
	if w.late != nil { // recorded with other folders' outcomes
		w.late.addAfter(a)
		return nil
	}
	defer o.tracef("    %s applied", w.name)
	if err := a.flush(true); err != nil {
		return err
	}
	w.release()
	return nil
}

// committer records the outcomes of folders whose side effects are done,
// several in one transaction, while the connections go on with other
// folders. Until then the journal holds their intents, as after a crash.
type committer struct {
	b          batches[*applier]
	checkpoint atomic.Bool // one is under way
}

func newCommitter() *committer {
	c := &committer{}
	c.b.run = func(q []*applier) {
		recordAll(q)
		// Copied into the database file now, beside the next records,
		// the outcomes are not left for the Close at the end of the run
		// (which would make the user wait for it). One at a time; a
		// record never waits for one.
		if c.checkpoint.CompareAndSwap(false, true) {
			a := q[0]
			c.b.later(func() {
				defer c.checkpoint.Store(false)
				_ = a.o.DB.Checkpoint(a.ctx)
			})
		}
	}
	return c
}

func (c *committer) add(a *applier) { c.b.add(a) }

// addAfter queues a's outcomes once its background fetch batches are
// done; if one failed, only what was done is recorded, the folder is not
// marked synced.
func (c *committer) addAfter(a *applier) {
	c.b.later(func() {
		if err := a.waitTails(); err != nil {
			a.w.lateErr = errors.Join(err, a.flush(false))
			return
		}
		c.add(a)
	})
}

// recordAll records the outcomes of several folders in one transaction.
func recordAll(q []*applier) {
	err := q[0].tx(func(tx *state.Tx) error {
		for _, a := range q {
			if err := a.flushIn(tx, true); err != nil {
				return err
			}
		}
		return nil
	})
	for _, a := range q {
		if err != nil && len(q) > 1 {
			// one folder's failure must not cost the others theirs
			a.w.lateErr = a.tx(func(tx *state.Tx) error { return a.flushIn(tx, true) })
		} else {
			a.w.lateErr = err
		}
		a.pending, a.doneIDs = nil, nil
		a.w.release() // no retry follows a late record
		a.o.tracef("    %s recorded", a.w.name)
	}
}

// wait waits for every outcome queued so far and records the errors.
func (c *committer) wait(ws []*work) {
	c.b.wait()
	for _, w := range ws {
		if w.lateErr != nil && w.err == nil {
			w.err = w.lateErr
		}
	}
}

// executeLocal applies the plans of several folders that need no server
// (local renames and deletions): like execute, but with one transaction
// for all their intents and one for all their outcomes.
func executeLocal(ctx context.Context, o Options, ws []*work, byName map[string]*work, res *Result) {
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
		a.lateSync = true
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
	var wg sync.WaitGroup
	sem := make(chan struct{}, maildir.SyncsInFlight)
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			it.err = it.a.steps(it.groups)
		}()
	}
	wg.Wait()
	// The directory fsyncs after all the renames: the first commits the
	// file system's journal for all of them, the others find little left.
	for _, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := it.a.w.local.SyncDirs(); err != nil {
				// not durable: record none of its outcomes (the journal
				// keeps the intents for the next run)
				it.a.pending, it.a.doneIDs = nil, nil
				if it.err == nil {
					it.err = err
				}
			}
		}()
	}
	wg.Wait()
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

// newApplier sorts a folder's plan into groups of actions, selects the
// folder when the plan needs the server, and finds the local files the
// plan renames or deletes.
func newApplier(ctx context.Context, c *imapconn.Conn, o Options, w *work, byName map[string]*work, res *Result) (*applier, map[Op][]Action, error) {
	if w.plan.Blocked != "" {
		return nil, nil, fmt.Errorf("%w: %s", ErrBlocked, w.plan.Blocked)
	}
	a := &applier{ctx: ctx, c: c, o: o, w: w, byName: byName, res: res}
	groups := map[Op][]Action{}
	needServer := false
	var paired map[uint32]bool
	var pairedKey map[string]bool
	if w.executed {
		// A retry on a fresh connection: leave out the fetches and uploads
		// that the failed attempt already recorded, or they would be done
		// twice.
		pairs, err := o.DB.Pairs(ctx, w.st.ID)
		if err != nil {
			return nil, nil, err
		}
		paired, pairedKey = map[uint32]bool{}, map[string]bool{}
		for _, p := range pairs {
			paired[p.UID], pairedKey[p.Key] = true, true
		}
	}
	w.executed = true
	for _, act := range w.plan.Actions {
		if (act.Op == OpFetch && paired[act.UID]) || (act.Op == OpAppend && pairedKey[act.Key]) {
			continue
		}
		groups[act.Op] = append(groups[act.Op], act)
		needServer = needServer || w.toServer(act)
	}
	if needServer {
		if c == nil {
			return nil, nil, fmt.Errorf("%s: the plan needs the server but no connection was given", w.name)
		}
		if err := a.selectRW(); err != nil {
			return nil, nil, err
		}
	}
	if (len(groups[OpDeleteLocal]) > 0 || len(groups[OpSetLocalFlags]) > 0) && w.msgs == nil {
		if msgs, ok := probeLocal(w, groups[OpDeleteLocal], groups[OpSetLocalFlags]); ok {
			w.msgs = msgs
		} else {
			msgs, _, err := w.local.ScanNames()
			if err != nil {
				return nil, nil, fmt.Errorf("scan %s: %w", w.local.Path(), err)
			}
			w.msgs = msgs
		}
	}
	if len(groups[OpTombstone])+len(groups[OpLink])+len(groups[OpUpdateBase])+len(groups[OpMove]) > 0 {
		// their records carry the meta of the pairs they replace
		if _, err := w.metaPairs(ctx, o.DB); err != nil {
			return nil, nil, err
		}
	}
	w.local.DeferDirSync = true
	return a, groups, nil
}

// steps applies the side effects, in an order that never loses a message.
func (a *applier) steps(groups map[Op][]Action) error {
	if len(groups[OpStoreFlags]) > 0 && (len(groups[OpExpunge]) > 0 || len(groups[OpMove]) > 0) {
		// the flag changes share the round trip of the expunges and moves
		a.storeCmds = a.sendStores(groups[OpStoreFlags])
	}
	steps := []func([]Action) error{a.deleteLocal, a.expunge, a.move, a.store, a.setLocalFlags, a.fetch, a.append}
	ops := []Op{OpDeleteLocal, OpExpunge, OpMove, OpStoreFlags, OpSetLocalFlags, OpFetch, OpAppend}
	for i, step := range steps {
		if len(groups[ops[i]]) == 0 {
			continue
		}
		if err := step(groups[ops[i]]); err != nil {
			return err
		}
	}
	return nil
}

// probeLocal finds the files of the messages acts touch in a folder that
// was not scanned (unchanged since the last sync, so each file still has
// the flags of its pair), one lstat each; false if any is elsewhere.
func probeLocal(w *work, groups ...[]Action) (map[string]maildir.Message, bool) {
	base := make(map[string]string, len(w.pairs))
	for _, p := range w.pairs {
		if p.Key != "" {
			base[p.Key] = p.Flags
		}
	}
	msgs := map[string]maildir.Message{}
	for _, acts := range groups {
		for _, act := range acts {
			flags, ok := base[act.Key]
			if !ok {
				return nil, false
			}
			m, found := w.local.Probe(act.Key, flags)
			if !found {
				return nil, false
			}
			msgs[act.Key] = m
		}
	}
	return msgs, true
}

// journaled are the operations whose intent begin records; fetches journal
// their own batches (with the keys they will deliver under).
var journaled = []Op{OpDeleteLocal, OpExpunge, OpMove, OpStoreFlags, OpSetLocalFlags, OpAppend}

// journalOps is how each side effect of a plan is written in the journal.
var journalOps = map[Op]state.JournalOp{
	OpFetch:         state.JournalFetch,
	OpAppend:        state.JournalAppend,
	OpMove:          state.JournalMove,
	OpStoreFlags:    state.JournalStoreFlags,
	OpSetLocalFlags: state.JournalSetLocalFlags,
	OpExpunge:       state.JournalExpunge,
	OpDeleteLocal:   state.JournalDeleteLocal,
}

// begin commits, in one transaction, the state-only actions and the intent
// of every side effect to come.
func (a *applier) begin(groups map[Op][]Action) error {
	n := 0
	err := a.tx(func(tx *state.Tx) error {
		var err error
		n, err = a.beginIn(tx, groups)
		return err
	})
	if err == nil {
		a.linked(n)
	}
	return err
}

func (a *applier) linked(n int) {
	if n > 0 {
		a.res.add(func(r *Result) { r.Linked += n })
	}
}

// beginIn is begin's work inside tx; it returns how many messages it linked.
func (a *applier) beginIn(tx *state.Tx, groups map[Op][]Action) (int, error) {
	a.ids = map[Op][]int64{}
	n, err := a.stateOnly(tx, a.w.plan.Actions)
	if err != nil {
		return 0, err
	}
	// the fetches' intents, with the keys they will deliver under, in the
	// same transaction (one less on the connection's way)
	for i, act := range groups[OpFetch] {
		var k string
		if p := a.w.pre[act.UID]; p != nil {
			k = p.key // delivered under the key it has in tmp/
		} else {
			var err error
			if k, err = a.o.Store.NewKey(); err != nil {
				return 0, err
			}
		}
		groups[OpFetch][i].Key = k
		act := groups[OpFetch][i]
		e := &state.Entry{Owner: state.ChannelOwner(a.o.Name), FolderID: a.w.st.ID, Op: state.JournalFetch, UID: act.UID, Key: k}
		if err := tx.AddJournal(e); err != nil {
			return 0, err
		}
		a.ids[OpFetch] = append(a.ids[OpFetch], e.ID)
	}
	for _, op := range journaled {
		for _, act := range groups[op] {
			e := &state.Entry{Owner: state.ChannelOwner(a.o.Name), FolderID: a.w.st.ID, Op: journalOps[op], UID: act.UID, Key: act.Key}
			if err := tx.AddJournal(e); err != nil {
				return 0, err
			}
			a.ids[op] = append(a.ids[op], e.ID)
		}
	}
	return n, nil
}

// record queues an outcome, and the journal entries it completes, for the
// next flush.
func (a *applier) record(ids []int64, fn func(tx *state.Tx) error) {
	a.pending = append(a.pending, fn)
	a.doneIDs = append(a.doneIDs, ids...)
}

// flush commits the queued outcomes; with final it also saves the folder's
// numbers and marks it synced.
func (a *applier) flush(final bool) error {
	if len(a.pending) == 0 && len(a.doneIDs) == 0 && !final {
		return nil
	}
	err := a.tx(func(tx *state.Tx) error { return a.flushIn(tx, final) })
	a.pending, a.doneIDs = nil, nil
	return err
}

// flushIn is flush's work inside tx.
func (a *applier) flushIn(tx *state.Tx, final bool) error {
	for _, fn := range a.pending {
		if err := fn(tx); err != nil {
			return err
		}
	}
	if err := tx.DoneJournal(a.doneIDs...); err != nil {
		return err
	}
	if final {
		return a.saveFolder(tx)
	}
	return nil
}

// sendNext sends the SELECT of the folder this connection serves next,
// right behind this folder's last command, so that it costs no round trip
// of its own. Only when this folder's plan sends nothing more once its
// flag STOREs and UID EXPUNGE are out (nothing else may reach the server
// after another folder's SELECT), and the next folder will select. The
// next folder still checks UIDVALIDITY before it changes anything.
func (a *applier) sendNext(step Op) {
	nx := a.w.next
	if step != a.lastOp || (step == OpFetch && !a.lastBatch) || nx == nil || nx.preSel != nil || nx.preAsk != nil {
		return
	}
	condstore := a.c.Caps.Has(imap.CapCondStore)
	if nx.plan == nil {
		// not gathered yet: its SELECT and flag changes
		if nx.gathered || !pipelinable(nx, condstore) {
			return
		}
		ask := askRemote(a.c, a.o, nx, condstore, false)
		nx.preAsk, nx.preConn = &ask, a.c
		a.sentNext = true
		return
	}
	if nx.plan.Blocked != "" || !needsServer(nx) {
		return
	}
	nx.preSel = a.c.Select(a.o.ns.toServer(nx.name), &imap.SelectOptions{CondStore: condstore})
	nx.preConn = a.c
	a.sentNext = true
}

// reselect takes the connection back from the next folder's SELECT sent
// ahead, for more commands of this folder (a fetch to try again): that
// SELECT is waited for and forgotten (the next folder selects again).
func (a *applier) reselect() error {
	if !a.sentNext {
		return nil
	}
	a.sentNext = false
	if nx := a.w.next; nx != nil && nx.preSel != nil {
		nx.preSel.Wait() // the connection's mailbox is nx's after it
		nx.preSel, nx.preConn = nil, nil
	}
	if nx := a.w.next; nx != nil && nx.preAsk != nil {
		nx.preAsk.sel.Wait()
		if nx.preAsk.ahead != nil {
			nx.preAsk.ahead.Close()
		}
		nx.preAsk, nx.preConn = nil, nil
	}
	return a.selected(nil)
}

func (a *applier) selectRW() error {
	pre := a.w.preSel
	if a.w.preConn != a.c {
		pre = nil
	}
	a.w.preSel, a.w.preConn = nil, nil
	if mb := a.c.Mailbox(); pre == nil && mb != nil && mb.Name == a.w.name && (a.w.sel != nil || a.w.execSel != nil) {
		return nil
	}
	return a.selected(pre)
}

// selected waits for pre (a SELECT of the folder sent ahead), or selects
// the folder now, and checks that UIDVALIDITY is still the plan's.
func (a *applier) selected(pre *imapclient.SelectCommand) error {
	if pre == nil {
		pre = a.c.Select(a.o.ns.toServer(a.w.name), &imap.SelectOptions{CondStore: a.c.Caps.Has(imap.CapCondStore)})
	}
	sel, err := pre.Wait()
	if err != nil {
		return fmt.Errorf("select %q: %w", a.w.name, err)
	}
	want := a.w.st.UIDValidity
	if a.w.sel != nil {
		want = a.w.sel.UIDValidity
	}
	if want != 0 && sel.UIDValidity != want {
		return fmt.Errorf("select %q: UIDVALIDITY changed during the run; the next run will re-match the folder", a.w.name)
	}
	// Not w.sel: the folder's numbers to save are those the plan was made
	// from (LIST-STATUS when the plan needed no gather); a change someone
	// made since then must still look like a change next run.
	a.w.execSel = sel
	return nil
}

// tx runs fn in a state transaction. It is not cancelled with the run: an
// interrupted run still records what it has done (an interrupt stops new
// work in journal).
func (a *applier) tx(fn func(tx *state.Tx) error) error {
	tx, err := a.o.DB.Begin(context.WithoutCancel(a.ctx))
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// journal commits the intent of a batch of actions; the returned ids are
// marked done by the transaction that records the outcome.
func (a *applier) journal(op Op, acts []Action) ([]int64, error) {
	if err := a.ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: not started: %w", op, err) // interrupted
	}
	ids := make([]int64, len(acts))
	err := a.tx(func(tx *state.Tx) error {
		for i, act := range acts {
			e := &state.Entry{Owner: state.ChannelOwner(a.o.Name), FolderID: a.w.st.ID, Op: journalOps[op], UID: act.UID, Key: act.Key}
			if err := tx.AddJournal(e); err != nil {
				return err
			}
			ids[i] = e.ID
		}
		return nil
	})
	return ids, err
}

// setPairFlags records new synced flags of a pair: in place when the pair
// is there as planned, else in full.
func (a *applier) setPairFlags(tx *state.Tx, act Action) error {
	if act.UID > 0 && act.Key != "" {
		if ok, err := tx.SetPairFlags(a.w.st.ID, act.UID, act.Key, act.Flags); ok || err != nil {
			return err
		}
	}
	return tx.PutPair(a.w.st.ID, a.pairMeta(act.UID, act.Key, act.Flags))
}

func (a *applier) pairMeta(uid uint32, key, flags string) state.Pair {
	p := state.Pair{UID: uid, Key: key, Flags: flags}
	if li, ok := a.w.localInfo[key]; ok {
		p.Size, p.Fingerprint, p.MessageID = li.CRLFSize, li.Fingerprint, li.MessageID
	}
	if rm, ok := a.w.remoteMeta[uid]; ok {
		// the server's size: a file another tool added a field to is longer
		p.Size = rm.Size
		if p.MessageID == "" {
			p.MessageID = rm.MessageID
		}
	}
	if old, ok := a.oldPair(uid, key); ok {
		if p.Fingerprint == "" {
			p.Fingerprint = old.Fingerprint
		}
		if p.MessageID == "" {
			p.MessageID = old.MessageID
		}
		if p.Size == 0 {
			p.Size = old.Size
		}
	}
	return p
}

// oldPair finds the pair the state had for a message (by UID, unless
// UIDVALIDITY changed, or by key; the first in the folder's order), by
// an index built on first use: a plan may link or tombstone every message
// of a big folder.
func (a *applier) oldPair(uid uint32, key string) (state.Pair, bool) {
	if a.olds == nil {
		olds, err := a.w.metaPairs(a.ctx, a.o.DB)
		if err != nil {
			olds = a.w.pairs // loaded ahead by newApplier where it matters
		}
		a.olds = &pairIndex{pairs: olds, byUID: make(map[uint32]int, len(olds)), byKey: make(map[string]int, len(olds))}
		for i := len(olds) - 1; i >= 0; i-- { // the first one wins
			if olds[i].UID != 0 {
				a.olds.byUID[olds[i].UID] = i
			}
			if olds[i].Key != "" {
				a.olds.byKey[olds[i].Key] = i
			}
		}
	}
	at := -1
	if i, ok := a.olds.byUID[uid]; ok && uid != 0 && !a.w.in.UIDValidityChanged {
		at = i
	}
	if i, ok := a.olds.byKey[key]; ok && key != "" && (at < 0 || i < at) {
		at = i
	}
	if at < 0 {
		return state.Pair{}, false
	}
	return a.olds.pairs[at], true
}

// pairIndex finds a folder's pairs by UID and by key.
type pairIndex struct {
	pairs []state.Pair
	byUID map[uint32]int
	byKey map[string]int
}

// stateOnly records what needs no side effect: forgotten pairs, tombstones,
// links of matched messages, agreed flags; and after a UIDVALIDITY change
// it drops every old pair first. It returns how many messages it linked.
func (a *applier) stateOnly(tx *state.Tx, acts []Action) (int, error) {
	var n int
	if a.w.in.UIDValidityChanged {
		if err := tx.DeleteAllPairs(a.w.st.ID); err != nil {
			return 0, err
		}
		a.res.notice("%s: UIDVALIDITY changed (%d -> %d): messages re-matched by content", a.w.name, a.w.st.UIDValidity, a.w.sel.UIDValidity)
	}
	for _, act := range acts {
		var err error
		switch act.Op {
		case OpForget:
			if a.w.in.UIDValidityChanged {
				continue
			}
			err = tx.DeletePair(a.w.st.ID, act.UID, act.Key)
		case OpTombstone:
			p := a.pairMeta(act.UID, act.Key, "")
			if act.UID != 0 { // deleted locally, kept on the server
				p.Key = ""
				err = tx.DeletePair(a.w.st.ID, act.UID, "")
			} else { // expunged on the server, kept locally
				for _, old := range a.w.pairs {
					if old.Key == act.Key && old.UID != 0 {
						err = tx.DeletePair(a.w.st.ID, old.UID, "")
					}
				}
			}
			if err == nil {
				err = tx.PutPair(a.w.st.ID, p)
			}
		case OpLink, OpUpdateBase:
			if act.Op == OpLink {
				n++
			}
			// a link whose flags still differ is recorded with the old
			// base; the store/set-flags actions that follow update it.
			err = tx.PutPair(a.w.st.ID, a.pairMeta(act.UID, act.Key, baseForLink(act, a.w.plan.Actions)))
		}
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// baseForLink is the base to record for a link: its merged flags when no
// flag action follows, else the flags both sides had in common so that a
// crash before the flag actions still lets the next run push them.
func baseForLink(link Action, acts []Action) string {
	if link.Op != OpLink {
		return link.Flags
	}
	for _, act := range acts {
		if (act.Op == OpStoreFlags || act.Op == OpSetLocalFlags) && act.UID == link.UID {
			return ""
		}
	}
	return link.Flags
}

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

func uidsOf(acts []Action) imap.UIDSet {
	var s imap.UIDSet
	for _, act := range acts {
		s.AddNum(imap.UID(act.UID))
	}
	return s
}

func (a *applier) expunge(acts []Action) error {
	failpoint.Hit("expunge.after-journal")
	if err := a.expungeUIDs(uidsOf(acts)); err != nil {
		return err
	}
	failpoint.Hit("expunge.after-server")
	a.record(a.ids[OpExpunge], func(tx *state.Tx) error {
		for _, act := range acts {
			if err := tx.DeletePair(a.w.st.ID, act.UID, ""); err != nil {
				return err
			}
		}
		return nil
	})
	a.res.add(func(r *Result) { r.Expunged += len(acts) })
	return nil
}

// expungeUIDs flags messages \Deleted and expunges exactly them: UID
// EXPUNGE where the server has UIDPLUS; otherwise a plain EXPUNGE only when
// no other message is marked \Deleted (it would remove those too), else
// they stay flagged and the run says so.
func (a *applier) expungeUIDs(set imap.UIDSet) error {
	flag := a.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil)
	if a.c.Caps.Has(imap.CapUIDPlus) || a.c.Caps.Has(imap.CapIMAP4rev2) {
		// one round trip: UID EXPUNGE goes out before STORE's answer (it
		// only removes those of our UIDs that are \Deleted)
		exp := a.c.UIDExpunge(set)
		a.sendNext(OpExpunge)
		err := flag.Close()
		failpoint.Hit("expunge.after-flag")
		if eerr := exp.Close(); err == nil && eerr != nil {
			err = fmt.Errorf("uid expunge: %w", eerr)
		} else if err != nil {
			err = fmt.Errorf("flag \\Deleted: %w", err)
		}
		return err
	}
	if err := flag.Close(); err != nil {
		return fmt.Errorf("flag \\Deleted: %w", err)
	}
	failpoint.Hit("expunge.after-flag")
	sd, err := a.c.UIDSearch(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagDeleted}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("search deleted: %w", err)
	}
	for _, u := range sd.AllUIDs() {
		if !set.Contains(u) {
			a.res.note("%s: server lacks UIDPLUS and other messages are marked \\Deleted: ours are left flagged, not expunged", a.w.name)
			return nil
		}
	}
	if err := a.c.Expunge().Close(); err != nil {
		return fmt.Errorf("expunge: %w", err)
	}
	return nil
}

func (a *applier) move(acts []Action) error {
	byDst := map[string][]Action{}
	for _, act := range acts {
		byDst[act.DstFolder] = append(byDst[act.DstFolder], act)
	}
	dsts := make([]string, 0, len(byDst))
	for d := range byDst {
		dsts = append(dsts, d)
	}
	sort.Strings(dsts)
	idOf := map[uint32]int64{}
	for i, act := range acts {
		idOf[act.UID] = a.ids[OpMove][i]
	}
	for _, dst := range dsts {
		group := byDst[dst]
		var ids []int64
		for _, act := range group {
			ids = append(ids, idOf[act.UID])
		}
		failpoint.Hit("move.after-journal")
		var srcUIDs, dstUIDs imap.NumSet
		if a.c.Caps.Has(imap.CapMove) || a.c.Caps.Has(imap.CapIMAP4rev2) {
			md, err := a.c.Move(uidsOf(group), a.o.ns.toServer(dst)).Wait()
			if err != nil {
				return fmt.Errorf("move to %q: %w", dst, err)
			}
			if md != nil {
				srcUIDs, dstUIDs = md.SourceUIDs, md.DestUIDs
			}
		} else {
			// COPY, then expunge only these (the library's own fallback
			// would run a plain EXPUNGE without UIDPLUS).
			cd, err := a.c.Copy(uidsOf(group), a.o.ns.toServer(dst)).Wait()
			if err != nil {
				return fmt.Errorf("copy to %q: %w", dst, err)
			}
			if cd != nil {
				srcUIDs, dstUIDs = cd.SourceUIDs, cd.DestUIDs
			}
			if err := a.expungeUIDs(uidsOf(group)); err != nil {
				return err
			}
		}
		failpoint.Hit("move.after-server")
		dstMap := map[uint32]uint32{}
		if srcUIDs != nil && dstUIDs != nil {
			if su, ok := srcUIDs.(imap.UIDSet); ok {
				if du, ok := dstUIDs.(imap.UIDSet); ok {
					s, _ := su.Nums()
					d, _ := du.Nums()
					for i := range s {
						if i < len(d) {
							dstMap[uint32(s[i])] = uint32(d[i])
						}
					}
				}
			}
		}
		var dstSt *state.Folder
		if dw := a.byName[dst]; dw != nil && dw.st != nil && dw.st.ID != 0 {
			dstSt = dw.st
		} else {
			var err error
			if dstSt, err = a.o.DB.EnsureFolder(a.ctx, a.o.Name, dst); err != nil {
				return err
			}
		}
		a.record(ids, func(tx *state.Tx) error {
			for _, act := range group {
				old := a.pairMeta(act.UID, act.Key, act.Base)
				if err := tx.DeletePair(a.w.st.ID, act.UID, ""); err != nil {
					return err
				}
				if du, ok := dstMap[act.UID]; ok {
					// The server copy keeps its flags (the base); the next
					// run pushes a flag change made with the move.
					old.UID, old.Key = du, act.DstKey
					if err := tx.PutPair(dstSt.ID, old); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if len(dstMap) < len(group) {
			a.res.note("%s: server gave no COPYUID for %d moved messages: they are re-linked by content next run", a.w.name, len(group)-len(dstMap))
		}
		a.res.add(func(r *Result) { r.Moved += len(group) })
	}
	return nil
}

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
	drop := unstorable(a.w.execSel)
	if drop == "" {
		drop = unstorable(a.w.sel)
	}
	var cmds []*imapclient.FetchCommand
	for _, k := range keys {
		set := uidsOf(groups[k])
		k.add, k.rm = without(k.add, drop), without(k.rm, drop)
		if k.add != "" {
			cmds = append(cmds, a.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: FlagsOf(k.add)}, nil))
		}
		if k.rm != "" {
			cmds = append(cmds, a.c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: FlagsOf(k.rm)}, nil))
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
		nm, err := a.w.local.SetFlags(m, WithLocalExtras(act.Flags, m.Flags))
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

// fetched is one message written during a fetch batch.
type fetched struct {
	uid   uint32
	key   string
	flags string
	size  int64
	fp    string
	msgid string
	path  string // the file, once committed
}

// pair is what the state records of a fetched message.
func (f fetched) pair() state.Pair {
	return state.Pair{UID: f.uid, Key: f.key, Flags: f.flags, Size: f.size, Fingerprint: f.fp, MessageID: f.msgid}
}

func (a *applier) fetch(acts []Action) error {
	if !a.w.local.Exists() {
		lf, err := a.o.Store.CreateFolder(a.w.name, a.w.delim)
		if err != nil {
			return err
		}
		lf.DeferDirSync = true
		a.w.local = lf
		a.w.listing, err = lf.ReadListing()
		a.w.listingOK = err == nil
	}
	// what interrupted deliveries (a kill, a crash) left in tmp/
	if err := a.w.local.CleanTmp(maildir.TmpMaxAge); err != nil {
		a.res.note("%s: %v", a.w.name, err)
	}
	ids := a.ids[OpFetch]
	if len(a.w.pre) > 0 && len(ids) == len(acts) {
		// the prefetched bodies first: a rename each
		var pre, rest []Action
		var preIDs, restIDs []int64
		for i, act := range acts {
			if a.w.isPrefetched(act) {
				pre, preIDs = append(pre, act), append(preIDs, ids[i])
			} else {
				rest, restIDs = append(rest, act), append(restIDs, ids[i])
			}
		}
		if len(pre) > 0 {
			if err := a.linkPrefetched(pre, preIDs); err != nil {
				return err
			}
			acts, ids = rest, restIDs
		}
	}
	if len(acts) > 0 && a.c == nil {
		return fmt.Errorf("%s: fetching needs the server but no connection was given", a.w.name)
	}
	batches := chunks(acts, fetchBatch)
	for i, batch := range batches {
		a.lastBatch = i == len(batches)-1
		var bids []int64
		if len(ids) == len(acts) { // journaled by begin
			bids = ids[i*fetchBatch : i*fetchBatch+len(batch)]
		}
		if err := a.fetchBatch(batch, bids); err != nil {
			return err
		}
	}
	return nil
}

// fetchBatch fetches acts; ids are their journal entries when begin wrote
// them (with the keys in acts), else the batch journals itself.
func (a *applier) fetchBatch(acts []Action, ids []int64) error {
	want := map[uint32]Action{}
	if ids == nil {
		for i := range acts {
			k, err := a.o.Store.NewKey()
			if err != nil {
				return err
			}
			acts[i].Key = k
		}
		var err error
		if ids, err = a.journal(OpFetch, acts); err != nil {
			return err
		}
	}
	for _, act := range acts {
		want[act.UID] = act
	}
	failpoint.Hit("fetch.after-journal")
	var (
		mu      sync.Mutex
		got     []fetched
		werr    error
		wg      sync.WaitGroup
		sem     = make(chan struct{}, maildir.SyncsInFlight) // fsyncs in flight
		pending = acts
	)
	// keep records, when the fetch fails midway (say the connection
	// drops), the messages already written whole: they are kept and their
	// journal entries done; the others are left to the next run.
	keep := func(failure error) error {
		wg.Wait()
		if len(got) == 0 || a.w.local.SyncDirs() != nil {
			return failure
		}
		idOf := make(map[uint32]int64, len(acts))
		for i, act := range acts {
			idOf[act.UID] = ids[i]
		}
		err := a.tx(func(tx *state.Tx) error {
			doneIDs := make([]int64, 0, len(got))
			for _, f := range got {
				if err := tx.PutPair(a.w.st.ID, f.pair()); err != nil {
					return err
				}
				doneIDs = append(doneIDs, idOf[f.uid])
			}
			return tx.DoneJournal(doneIDs...)
		})
		if err == nil {
			a.res.add(func(r *Result) { r.Fetched += len(got); r.bytes += sizes(got); r.arrived(a.w.name, got) })
		}
		return failure
	}
	for attempt := 0; attempt < 2 && len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := a.reselect(); err != nil {
				return keep(err)
			}
		}
		err := fetchBodies(a.c, uidsOf(pending), func() { a.sendNext(OpFetch) }, func(uid uint32, arrived time.Time, body imap.LiteralReader) error {
			act, ok := want[uid]
			if !ok {
				return nil // not asked for (or already delivered)
			}
			f, err := deliverBody(a.w.local, act, arrived, body)
			if err != nil {
				return err
			}
			delete(want, uid)
			sem <- struct{}{}
			wg.Add(1)
			go func(d *maildir.Delivery, f fetched) {
				defer wg.Done()
				defer func() { <-sem }()
				m, err := d.Commit()
				mu.Lock()
				defer mu.Unlock()
				if err != nil && werr == nil {
					werr = err
				}
				if err == nil {
					f.path = m.Path(a.w.local)
					got = append(got, f)
				}
			}(f.d, f.fetched)
			return nil
		})
		if err != nil {
			return keep(err)
		}
		pending = pending[:0:0]
		for _, act := range acts {
			if _, missing := want[act.UID]; missing {
				pending = append(pending, act)
			}
		}
	}
	// The rest waits for the disk only: with asyncTail it goes on in the
	// background while the connection serves the next folder.
	tail := func() error {
		wg.Wait()
		if werr != nil {
			return keep(werr)
		}
		if err := a.w.local.SyncDirs(); err != nil {
			return err
		}
		failpoint.Hit("fetch.after-write")
		err := a.tx(func(tx *state.Tx) error {
			for _, f := range got {
				if err := tx.PutPair(a.w.st.ID, f.pair()); err != nil {
					return err
				}
			}
			return tx.DoneJournal(ids...) // messages still missing were expunged meanwhile
		})
		if err != nil {
			return err
		}
		failpoint.Hit("fetch.after-commit")
		if len(pending) > 0 {
			a.res.note("%s: %d messages vanished from the server before they could be fetched", a.w.name, len(pending))
		}
		a.res.add(func(r *Result) { r.Fetched += len(got); r.bytes += sizes(got); r.arrived(a.w.name, got) })
		return nil
	}
	if !a.asyncTail {
		return tail()
	}
	a.tails.Add(1)
	go func() {
		defer a.tails.Done()
		if err := tail(); err != nil {
			a.tailMu.Lock()
			a.tailErr = errors.Join(a.tailErr, err)
			a.tailMu.Unlock()
		}
	}()
	return nil
}

// waitTails waits for the fetch batches finishing in the background and
// returns their error.
func (a *applier) waitTails() error {
	a.tails.Wait()
	a.tailMu.Lock()
	defer a.tailMu.Unlock()
	return a.tailErr
}

type delivered struct {
	fetched
	d *maildir.Delivery
}

type countingReader struct {
	r   io.Reader
	n   int64
	err error // the read error other than io.EOF, if any
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// errBodyRead marks a body that could not be read whole from the server.
var errBodyRead = errors.New("body not received whole")

// deliverBody streams the body of act's message into tmp/ of lf, under
// act's key, to be committed with act's flags. The file's modification
// time becomes the server's arrival date when known (mbsync's
// CopyArrivalDate): mail readers sort "by date received" on it.
func deliverBody(lf *maildir.Folder, act Action, arrived time.Time, body io.Reader) (delivered, error) {
	o := maildir.DeliverOpts{Key: act.Key, TrustKey: true, NoDirSync: true, MTime: arrived}
	if act.Flags == "" {
		o.New = true // unread and unflagged: new/, as a mail client expects
	} else {
		o.Flags = act.Flags
	}
	d, err := lf.NewDelivery(o)
	if err != nil {
		return delivered{}, err
	}
	cr := &countingReader{r: body}
	lw := newLFWriter(d)
	if _, err := io.Copy(lw, cr); err != nil {
		d.Abort()
		if cr.err != nil {
			return delivered{}, fmt.Errorf("fetch uid %d: %w: %w", act.UID, errBodyRead, err)
		}
		return delivered{}, fmt.Errorf("fetch uid %d: %w", act.UID, err)
	}
	// A literal cut short by a closed connection reads as a clean EOF:
	// never commit a partial body.
	if lr, ok := body.(imap.LiteralReader); ok && cr.n != lr.Size() {
		d.Abort()
		return delivered{}, fmt.Errorf("fetch uid %d: %w: %d of %d bytes: %w", act.UID, errBodyRead, cr.n, lr.Size(), io.ErrUnexpectedEOF)
	}
	if err := lw.Flush(); err != nil {
		d.Abort()
		return delivered{}, err
	}
	return delivered{fetched{uid: act.UID, key: act.Key, flags: act.Flags, size: cr.n, fp: lw.Fingerprint(), msgid: lw.hdr.MessageID()}, d}, nil
}

// appendFlush is how many uploads are recorded per transaction.
const appendFlush = 64

func (a *applier) append(acts []Action) error {
	uidplus := a.c.Caps.Has(imap.CapUIDPlus) || a.c.Caps.Has(imap.CapIMAP4rev2)
	unlinked, queued := 0, 0
	failpoint.Hit("append.after-journal")
	for i, act := range acts {
		id := []int64{a.ids[OpAppend][i]}
		m, ok := a.w.msgs[act.Key]
		if !ok {
			a.record(id, func(*state.Tx) error { return nil })
			continue
		}
		li, ok := a.w.localInfo[act.Key]
		if !ok {
			var err error
			if li, err = ReadLocalInfo(m.Path(a.w.local)); err != nil {
				return fmt.Errorf("read %s: %w", m.Name, err)
			}
		}
		f, err := a.w.local.Open(m)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // deleted meanwhile: nothing to upload
				a.record(id, func(*state.Tx) error { return nil })
				continue
			}
			return err
		}
		cmd := a.c.Append(a.o.ns.toServer(a.w.name), li.CRLFSize, &imap.AppendOptions{Flags: FlagsOf(act.Flags), Time: li.Date})
		_, cerr := io.Copy(cmd, newCRLFReader(f))
		f.Close()
		if err := cmd.Close(); cerr == nil {
			cerr = err
		}
		data, err := cmd.Wait()
		if cerr != nil {
			return fmt.Errorf("append %s: %w", m.Name, cerr)
		}
		if err != nil {
			return fmt.Errorf("append %s: %w", m.Name, err)
		}
		failpoint.Hit("append.after-server")
		if uidplus && data != nil && data.UID != 0 && (a.w.sel == nil || data.UIDValidity == 0 || data.UIDValidity == a.w.sel.UIDValidity) {
			p := state.Pair{UID: uint32(data.UID), Key: act.Key, Flags: act.Flags, Size: li.CRLFSize, Fingerprint: li.Fingerprint, MessageID: li.MessageID}
			a.record(id, func(tx *state.Tx) error { return tx.PutPair(a.w.st.ID, p) })
		} else {
			a.record(id, func(*state.Tx) error { return nil })
			unlinked++
		}
		a.res.add(func(r *Result) { r.Appended++; r.bytes += li.CRLFSize })
		if queued++; queued == appendFlush || i == len(acts)-1 {
			if err := a.flush(false); err != nil {
				return err
			}
			queued = 0
			failpoint.Hit("append.after-commit")
		}
	}
	if unlinked > 0 {
		a.w.rescan = true
		a.res.note("%s: server gave no APPENDUID for %d uploads: they are linked by content next run", a.w.name, unlinked)
	}
	return nil
}

// saveFolder records the numbers seen before the changes of this run (so
// that a change made by someone else meanwhile is seen next time) and marks
// the folder synced.
func (a *applier) saveFolder(tx *state.Tx) error {
	st := *a.w.st
	switch {
	case a.w.sel != nil:
		st.UIDValidity, st.UIDNext, st.HighestModSeq, st.Messages = a.w.sel.UIDValidity, uint32(a.w.sel.UIDNext), a.w.sel.HighestModSeq, a.w.sel.NumMessages
	case a.w.rstat != nil:
		st.UIDValidity, st.UIDNext, st.HighestModSeq = a.w.rstat.UIDValidity, uint32(a.w.rstat.UIDNext), a.w.rstat.HighestModSeq
		if a.w.rstat.NumMessages != nil {
			st.Messages = *a.w.rstat.NumMessages
		}
	}
	st.CurMTime, st.NewMTime = a.w.curM, a.w.newM
	if recent(st.CurMTime, a.w.mtimeAt) || recent(st.NewMTime, a.w.mtimeAt) || a.w.createLocal {
		st.CurMTime, st.NewMTime = 0, 0 // not trusted: look again next run
	}
	st.Listing = ""
	if a.w.listingOK {
		st.Listing = a.w.listing.Plus(a.w.local.Changes()).String()
	}
	if a.w.rescan {
		st.CurMTime, st.NewMTime, st.Listing = 0, 0, ""
	}
	st.SyncedAt = nowUnix()
	if a.w.sel != nil {
		st.UVChanged = a.w.in.UIDValidityChanged
	}
	return tx.SaveFolder(&st)
}
