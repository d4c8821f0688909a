package syncer

import (
	"github.com/emersion/go-imap/v2"
	"github.com/mdsync/mdsync/state"
)

// route is how a changed folder is gathered, planned and applied.
//
//	route      taken when                               server side gathered    planned          applied
//	aside      the server did not change, and the plan  not at all              at once          aside, in batches of
//	           needs no server (renames, deletions)                                              folders (executeLocal)
//	direct     the folder can take no part in a move    in the pipeline, or on  as soon as its   on a connection; aside
//	           between folders                          the connection that     server side is   if the plan turns out
//	                                                    applies it              known            to need no server
//	moveGroup  the run has a folder a synced message    in the pipeline, or on  all together     after the others: local
//	           left and one with a message the state    a connection            (Plan), so that  plans at once, the rest
//	           does not know, and it may be either;                             a local move is  on connections
//	           or the server has a folder messages                              a server MOVE,
//	           left and one they may have gone to                               and a server
//	                                                                            move a rename
//
// The pipeline (gatherAhead) gathers, on one connection with pipelined
// commands, the server side of the direct and moveGroup folders that need
// only a SELECT and a FETCH CHANGEDSINCE and have no local change.
type route uint8

const (
	routeAside route = iota
	routeDirect
	routeMoveGroup
)

// routed are the changed folders by route, each list in the order of
// changed.
type routed struct {
	changed   []*folderSync
	aside     []*folderSync
	direct    []*folderSync
	moveGroup []*folderSync
}

// route routes the changed folders; those whose server did not change are
// planned on the way (aside and direct).
func (r *channelRun) route(changed []*folderSync) routed {
	var anySrc, anyDst bool
	roles := map[*folderSync][2]bool{}
	for _, w := range changed {
		if w.err != nil {
			continue
		}
		src, dst := moveRoles(w)
		roles[w] = [2]bool{src, dst}
		anySrc, anyDst = anySrc || src, anyDst || dst
	}
	// the server's side of the same question, from LIST-STATUS alone
	srcs, dsts := map[*folderSync]bool{}, map[*folderSync]bool{}
	for _, w := range changed {
		if w.err == nil {
			if src, dst := serverMoveRoles(w); src || dst {
				srcs[w], dsts[w] = src, dst
			}
		}
	}
	serverMoves, onlyLost := false, false
	for s, isSrc := range srcs {
		onlyLost = onlyLost || (isSrc && !dsts[s])
		for d, isDst := range dsts {
			serverMoves = serverMoves || (isSrc && isDst && s != d)
		}
	}
	rt := routed{changed: changed}
	for _, w := range changed {
		if w.err != nil {
			continue
		}
		role := roles[w]
		if serverMoves && (srcs[w] || dsts[w]) {
			role, w.serverMoveDst = [2]bool{true, true}, dsts[w]
			// Messages gone from a folder that received none are the
			// pattern of a move by another client: the new ones elsewhere
			// are identified by their headers before any body is fetched.
			// Otherwise they are prefetched as usual, and a move found
			// among them still keeps its local file.
			w.noPrefetch = dsts[w] && onlyLost
		}
		switch routeOf(w, role, (anySrc && anyDst) || serverMoves) {
		case routeMoveGroup:
			rt.moveGroup = append(rt.moveGroup, w)
		case routeDirect:
			if w.in.RemoteUnchanged && !w.createRemote {
				r.plan(w)
				if !needsServer(w) {
					rt.aside = append(rt.aside, w)
					continue
				}
			}
			rt.direct = append(rt.direct, w)
		}
	}
	return rt
}

// routeOf is a folder's route before its plan is known: a folder that may
// be a move's source or destination, in a run that has both, joins the
// move group; any other is direct (aside once its plan needs no server).
func routeOf(w *folderSync, role [2]bool, moves bool) route {
	if moves && (role[0] || role[1]) {
		return routeMoveGroup
	}
	return routeDirect
}

// serverMoveRoles tells, from the LIST-STATUS numbers against the state,
// whether messages may have left a folder on the server (fewer messages
// than were there plus those that arrived) and whether any arrived.
func serverMoveRoles(w *folderSync) (src, dst bool) {
	if w.in.RemoteUnchanged || w.createRemote {
		return false, false
	}
	return moveRolesOf(w.rstat, w.st)
}

// moveRolesOf is serverMoveRoles from a folder's numbers alone.
// A server folder never synced may only have received (a folder another
// client made and filed messages into): all its messages are new.
func moveRolesOf(rs *imap.StatusData, st *state.Folder) (src, dst bool) {
	if rs == nil || rs.NumMessages == nil {
		return false, false
	}
	if st == nil || st.SyncedAt == 0 {
		return false, *rs.NumMessages > 0
	}
	if rs.UIDValidity != st.UIDValidity {
		return false, false
	}
	var arrived uint32
	if next := uint32(rs.UIDNext); next > st.UIDNext {
		arrived = next - st.UIDNext
	}
	return *rs.NumMessages < st.Messages+arrived, arrived > 0
}

// plan makes a folder's plan from what was gathered.
func (r *channelRun) plan(w *folderSync) {
	fp := PlanFolder(w.in, r.policy)
	r.o.Progress.planned(fp)
	w.plan = &fp
}
