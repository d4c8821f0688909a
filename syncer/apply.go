package syncer

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// applier applies one folder's plan: it journals the intents (journal.go),
// runs the steps (step_*.go) and records their outcomes (record.go). It
// lives for one execute, on the goroutine that owns the folder; only the
// fetch tails run beside it, and waitTails joins them.
type applier struct {
	ctx    context.Context
	c      *imapconn.Conn // the lane's connection (nil: a plan of local changes)
	lane   *lane
	o      Options
	w      *folderSync
	byName map[string]*folderSync
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
	// callerSyncs: the caller fsyncs the folder's directories after the
	// steps, before it records their outcomes (executeLocal).
	callerSyncs bool
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
	if a.callerSyncs {
		return nil
	}
	return a.w.local.SyncDirs()
}

// execute applies a folder's plan.
func execute(ctx context.Context, l *lane, o Options, w *folderSync, byName map[string]*folderSync, res *Result) error {
	c := l.conn()
	a, groups, err := newApplier(ctx, l, o, w, byName, res)
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
	a.asyncTail = w.recorder != nil
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
	if w.recorder != nil { // recorded with other folders' outcomes
		w.recorder.addAfter(a)
		return nil
	}
	defer o.tracef("    %s applied", w.name)
	if err := a.flush(true); err != nil {
		return err
	}
	w.release()
	return nil
}

// newApplier sorts a folder's plan into groups of actions, selects the
// folder when the plan needs the server, and finds the local files the
// plan renames or deletes.
func newApplier(ctx context.Context, l *lane, o Options, w *folderSync, byName map[string]*folderSync, res *Result) (*applier, map[Op][]Action, error) {
	c := l.conn()
	if w.plan.Blocked != "" {
		return nil, nil, fmt.Errorf("%w: %s", ErrBlocked, w.plan.Blocked)
	}
	a := &applier{ctx: ctx, c: c, lane: l, o: o, w: w, byName: byName, res: res}
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
		if ((act.Op == OpFetch || act.Op == OpMoveIn) && paired[act.UID]) || (act.Op == OpAppend && pairedKey[act.Key]) {
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
		if _, err := w.pairs.withMeta(ctx, o.DB, w.st.ID); err != nil {
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
	steps := []func([]Action) error{a.deleteLocal, a.expunge, a.move, a.moveIn, a.store, a.setLocalFlags, a.fetch, a.append}
	ops := []Op{OpDeleteLocal, OpExpunge, OpMove, OpMoveIn, OpStoreFlags, OpSetLocalFlags, OpFetch, OpAppend}
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
func probeLocal(w *folderSync, groups ...[]Action) (map[string]maildir.Message, bool) {
	base := make(map[string]string, len(w.pairs.list))
	for _, p := range w.pairs.list {
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
