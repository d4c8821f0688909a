package mbsync

import (
	"path/filepath"
	"strings"
)

// Where mbsync keeps the state of a pair of boxes (prepare_state), verified
// against mbsync 1.4.4:
//
//   - SyncState * (in the channel, or global): <near box directory>/.mbsyncstate
//   - SyncState P in the channel: P + near box, e.g. "~/st/pre-INBOX",
//     "~/st/pre-Archive!2023".
//   - otherwise (a global SyncState P, or the default directory):
//     P + ":far-store:far-box_:near-store:near-box", e.g.
//     "~/.mbsync/:far:Archive!2023_:near:Archive!2023". The ':' is the
//     FieldDelimiter.
//
// In box names '/' is written as '!'. Box names are spelled as mbsync
// spells them (1.4: modified UTF-7, "Entw&APw-rfe"), with the store's
// Flatten applied. Beside the state live <state>.journal and <state>.new
// while a run is in progress or was interrupted, and <state>.lock.
//
// The default directory is ~/.mbsync/ in 1.4. In 1.5 it is
// $XDG_STATE_HOME/isync/ (~/.local/state/isync/), unless ~/.mbsync/ exists
// and that does not.
func (r *reader) statePath(ch *channel, farBox, nearBox, nearDir string) string {
	clean := func(s string) string { return strings.ReplaceAll(s, "/", "!") }
	if r.syncState(ch) == "*" {
		return filepath.Join(nearDir, ".mbsyncstate")
	}
	nearName := clean(ch.Near.Maildir.flat(nearBox))
	if e := ch.Sec.last("SyncState"); e != nil {
		return r.expand(e.Arg()) + nearName
	}
	d := string(r.model.FieldDelim)
	return r.globalStateDir() + d + ch.Far.name() + d + clean(farBox) + "_" + d + ch.Near.name() + d + nearName
}

// syncState is the SyncState that applies to ch, "" for the default.
func (r *reader) syncState(ch *channel) string {
	if e := ch.Sec.last("SyncState"); e != nil {
		return e.Arg()
	}
	if e := r.model.Globals.last("SyncState"); e != nil {
		return e.Arg()
	}
	return ""
}

// globalStateDir is the global SyncState prefix, or the default directory
// (with its trailing slash).
func (r *reader) globalStateDir() string {
	if e := r.model.Globals.last("SyncState"); e != nil {
		return r.expand(e.Arg())
	}
	old := filepath.Join(r.home, ".mbsync") + "/"
	if r.version == v15 {
		xdg := filepath.Join(r.stateHome, "isync") + "/"
		if !(dirExists(old) && !dirExists(xdg)) {
			return xdg
		}
	}
	return old
}
