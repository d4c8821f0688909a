package syncer

import (
	"context"
	"sync"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

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
