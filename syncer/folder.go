package syncer

import (
	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// folderSync is one folder being synchronised: its local side, its server
// side, its pairs, its plan and its outcome. One goroutine at a time owns
// it (doc.go).
type folderSync struct {
	name                      string
	delim                     rune
	st                        *state.Folder // the state's row: numbers, mtimes, listing
	createLocal, createRemote bool          // the folder is new on the other side
	journal                   []state.Entry // what an earlier run left open

	// The local side.
	local *maildir.Folder
	look  localLook // how it looked at the start, read ahead
	// the mtimes of cur/ and new/, and when they were read
	curM, newM, mtimeAt int64
	// listing is the local listing at the start (from the state when the
	// mtimes are unchanged, else read or scanned), if known: saveFolder
	// stores it plus what this run changed locally.
	listing   maildir.Listing
	listingOK bool
	// relisted: the mtimes changed but the listing did not (only our own
	// changes of the last run): store the new mtimes even if skipped.
	relisted  bool
	msgs      map[string]maildir.Message // the files, once scanned or probed
	localInfo map[string]localFile       // what matching read of new files
	// arrivals: the local files that move-ins of this folder's plan take
	// from other folders (by key), found when the moves were matched
	arrivals map[string]arrival
	// keepServerNumbers: a move between this folder and another is not
	// settled by this folder's own transaction (its file leaves through
	// the other's, or a move-in could not be made): the server numbers of
	// the last sync are kept, so that the next run gathers the folder
	// again rather than trust what it saw.
	keepServerNumbers bool
	// rescan: this run left local messages the state does not pair
	// (uploads without APPENDUID): the next run must list the folder.
	rescan bool

	// The server side.
	rstat      *imap.StatusData // its LIST-STATUS numbers
	planSel    *imap.SelectData // the SELECT the plan was made from
	applySel   *imap.SelectData // a later SELECT the plan is applied under
	remoteMeta map[uint32]remoteMeta
	conn       *imapconn.Conn // the connection that gathered it (still selected there)
	gathered   bool           // gathered in the pipeline (gatherAhead)
	// serverMoveDst: the server may have moved messages here from another
	// folder of the run: the new messages' identities are fetched (or read
	// from their prefetched bodies)
	serverMoveDst bool
	// noPrefetch: another folder only lost messages, so this one's new
	// ones are likely moves: their headers are fetched, not their bodies
	noPrefetch bool
	// prefetch: bodies of new messages the pipeline read into tmp/, by UID
	prefetch map[uint32]*prefetched

	pairs pairSet     // its pairs in the state
	in    FolderInput // what the planner is given
	plan  *FolderPlan

	// The outcome.
	skip bool // changed on neither side: nothing to do
	// batched: the plan needs no server and is applied in a local batch
	// (executeLocal; in a dry run, not at all)
	batched   bool
	recorder  *committer // records the outcomes with other folders' (nil: execute does)
	recordErr error      // the recorder's error
	executed  bool       // execute ran once already (this is a retry)
	err       error
}

// setPairs makes pairs the folder's pairs and the planner's; brief: they
// lack their meta (see pairSet).
func (w *folderSync) setPairs(pairs []state.Pair, brief bool) {
	w.pairs.list, w.pairs.loaded, w.pairs.brief = pairs, true, brief
	w.in.Pairs = pairs
}

// release drops what a folder's sync held in memory (its listings, pairs
// and plan) once the outcome is recorded and nothing retries it: a big
// account is not held whole until the end of the run.
func (w *folderSync) release() {
	w.in = FolderInput{Name: w.name}
	w.msgs, w.localInfo, w.remoteMeta = nil, nil, nil
	w.pairs = pairSet{}
	w.look = localLook{}
	w.dropPrefetched()
	if w.plan != nil {
		w.plan = &FolderPlan{Name: w.plan.Name, Blocked: w.plan.Blocked}
	}
}

// moveRoles tells whether a folder can take part in a local move between
// folders: as a source (a synced message is gone from it) or as a
// destination (it holds a message the state does not know).
func moveRoles(w *folderSync) (src, dst bool) {
	if w.in.LocalUnchanged {
		return false, false
	}
	// A folder's pairs have distinct keys: when fewer of them are found
	// in the folder than it holds, some message there is new.
	found := 0
	for _, p := range w.pairs.list {
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
func needsServer(w *folderSync) bool {
	if w.plan.Blocked != "" {
		return false
	}
	return w.anyToServer(w.plan.Actions)
}

// toServer tells whether an action of the folder sends anything to the
// server (a fetch whose body is prefetched does not).
func (w *folderSync) toServer(act Action) bool {
	switch act.Op {
	case OpExpunge, OpMove, OpStoreFlags, OpAppend:
		return true
	case OpFetch:
		return !w.isPrefetched(act)
	}
	return false
}

// anyToServer tells whether any of acts sends anything to the server.
func (w *folderSync) anyToServer(acts []Action) bool {
	for _, act := range acts {
		if w.toServer(act) {
			return true
		}
	}
	return false
}
