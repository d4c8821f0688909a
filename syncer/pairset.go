package syncer

import (
	"context"
	"sync"

	"github.com/mdsync/mdsync/state"
)

// pairSet is a folder's pairs from the state, read as late and as little as
// the run allows. Not loaded: only the server changed, and gather loads the
// pairs of the UIDs CONDSTORE reports changed (when nothing was expunged)
// or all of them. Brief: read by the local look without their meta (size,
// fingerprint, Message-ID), which withMeta reads once when an outcome to
// record or a move between folders needs it.
type pairSet struct {
	list   []state.Pair
	loaded bool
	brief  bool

	metaOnce sync.Once
	meta     []state.Pair
	metaErr  error
}

// withMeta returns the pairs with their meta: list, or, when it is brief,
// all of the folder's pairs read once from the state.
func (s *pairSet) withMeta(ctx context.Context, db *state.DB, folderID int64) ([]state.Pair, error) {
	if !s.brief {
		return s.list, nil
	}
	s.metaOnce.Do(func() { s.meta, s.metaErr = db.Pairs(ctx, folderID) })
	return s.meta, s.metaErr
}
