package syncer

import (
	"fmt"

	"github.com/mdsync/mdsync/state"
)

// journaled are the operations whose intent begin records; fetches journal
// their own batches (with the keys they will deliver under).
var journaled = []Op{OpDeleteLocal, OpExpunge, OpMove, OpMoveIn, OpStoreFlags, OpSetLocalFlags, OpAppend}

// journalOps is how each side effect of a plan is written in the journal.
var journalOps = map[Op]state.JournalOp{
	OpFetch:         state.JournalFetch,
	OpAppend:        state.JournalAppend,
	OpMove:          state.JournalMove,
	OpMoveIn:        state.JournalMoveIn,
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
		if p := a.w.prefetch[act.UID]; p != nil {
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
			e := &state.Entry{Owner: state.ChannelOwner(a.o.Name), FolderID: a.w.st.ID, Op: journalOps[op], UID: act.UID, Key: act.Key, Arg: act.From}
			if err := tx.AddJournal(e); err != nil {
				return 0, err
			}
			a.ids[op] = append(a.ids[op], e.ID)
		}
	}
	return n, nil
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
