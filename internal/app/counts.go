package app

import (
	"github.com/mdsync/mdsync/internal/popfetch"
	"github.com/mdsync/mdsync/syncer"
)

// The counts of a target's run are what --json says under "counts", what
// the state keeps for status ("last_counts") and what the hooks get as
// MDSYNC_* variables (MDSYNC_FETCHED, ...): the names are the README's
// schema, app's own, whatever the engines call their fields.

// channelCounts are the counts of a channel's run.
func channelCounts(res *syncer.Result) map[string]int {
	return map[string]int{
		"folders":         res.Folders,
		"unchanged":       res.Unchanged,
		"fetched":         res.Fetched,
		"appended":        res.Appended,
		"flags_to_server": res.FlagsServer,
		"flags_to_local":  res.FlagsLocal,
		"deleted_local":   res.DeletedLocal,
		"expunged":        res.Expunged,
		"moved":           res.Moved,
		"moved_locally":   res.MovedLocally,
		"linked":          res.Linked,
		"folders_created": res.Created,
	}
}

// popCounts are the counts of a POP account's run.
func popCounts(res popfetch.Result) map[string]int {
	return map[string]int{
		"fetched":         res.Fetched,
		"deleted":         res.Deleted,
		"skipped_too_big": res.Skipped,
		"pruned":          res.Pruned,
		"remaining":       res.Remaining,
	}
}
