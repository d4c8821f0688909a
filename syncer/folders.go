package syncer

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mdsync/mdsync/internal/mutf7"
)

// folderSides tells where a folder exists.
type folderSides struct {
	Name    string
	Local   bool
	Remote  bool
	InState bool // synced before
}

// folderDecision is what happens to one folder of a channel.
type folderDecision struct {
	Name         string
	Sync         bool
	CreateLocal  bool
	CreateRemote bool
	// Redownload: the folder was synced before and its directory is gone;
	// its state is forgotten and it is created and filled again.
	Redownload bool
	Action     Action // folder-level action worth reporting (create, skip, remove), if any
	// Notice: the folder was deleted on one side; what happens to it is
	// said even without -v.
	Notice bool
}

// planFolders pairs the folders of both sides. A folder missing on one side
// is created there when it is new (create policy). One synced before and
// then deleted on one side is deleted on the other when the remove policy
// says so; otherwise a folder removed locally is downloaded again (create
// policy permitting), and one deleted on the server is kept locally.
func planFolders(fs []folderSides, create, remove Sides) []folderDecision {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	has := func(policy Sides, side string) bool {
		if side == "imap" {
			return policy.Server()
		}
		return policy.Local()
	}
	var out []folderDecision
	for _, f := range fs {
		d := folderDecision{Name: f.Name}
		act := func(op Op, reason string) { d.Action = Action{Op: op, Folder: f.Name, Reason: reason} }
		switch {
		case f.Local && f.Remote:
			d.Sync = true
		case f.Remote && !f.InState:
			if has(create, "maildir") {
				d.Sync, d.CreateLocal = true, true
				act(OpCreateLocal, fmt.Sprintf("create %q in the maildir", f.Name))
			} else {
				act(OpSkipFolder, fmt.Sprintf("%q exists only on the server; create = %q keeps it there", f.Name, create))
			}
		case f.Local && !f.InState:
			if has(create, "imap") {
				d.Sync, d.CreateRemote = true, true
				act(OpCreateRemote, fmt.Sprintf("create %q on the server", f.Name))
			} else {
				act(OpSkipFolder, fmt.Sprintf("%q exists only locally; create = %q keeps it there", f.Name, create))
			}
		case f.Remote: // in state, gone locally
			d.Notice = true
			switch {
			case has(remove, "imap"):
				act(OpRemoveRemote, fmt.Sprintf("%q was deleted locally: delete it on the server", f.Name))
			case has(create, "maildir"):
				// The directory is gone, not emptied message by message:
				// with deletions not propagated, the server's copy is
				// the folder, and it comes back (as in mbsync and
				// OfflineIMAP). Its old state is void.
				d.Sync, d.CreateLocal, d.Redownload = true, true, true
				act(OpCreateLocal, fmt.Sprintf("%q was removed locally; remove = %q keeps it on the server: downloaded again (set remove = \"imap\" to delete it there instead)", f.Name, remove))
			default:
				act(OpSkipFolder, fmt.Sprintf("%q was deleted locally; kept on the server (set remove = \"imap\" to delete it there)", f.Name))
			}
		case f.Local: // in state, gone on the server
			d.Notice = true
			if has(remove, "maildir") {
				act(OpRemoveLocal, fmt.Sprintf("%q was deleted on the server: delete it locally", f.Name))
			} else {
				act(OpSkipFolder, fmt.Sprintf("%q was deleted on the server; kept locally (set remove = \"maildir\" to delete it here)", f.Name))
			}
		default:
			continue // gone on both sides: nothing to do
		}
		out = append(out, d)
	}
	return out
}

// MatchFolder reports whether an IMAP folder name is selected by mbsync-style
// patterns: "*" matches anything, "%" anything but the delimiter, and a
// pattern starting with "!" excludes. The last matching pattern wins; a name
// no pattern matches is not selected. INBOX matches case-insensitively.
func MatchFolder(patterns []string, name string, delim rune) bool {
	sel := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if globMatch(normInbox(p, delim), normInbox(name, delim), delim) {
			sel = !neg
		}
	}
	return sel
}

func normInbox(s string, delim rune) string {
	first, rest, found := strings.Cut(s, string(delim))
	if delim == 0 {
		first, rest, found = s, "", false
	}
	if strings.EqualFold(first, "INBOX") {
		first = "INBOX"
	}
	if found {
		return first + string(delim) + rest
	}
	return first
}

func globMatch(p, s string, delim rune) bool {
	pr, sr := []rune(p), []rune(s)
	var match func(i, j int) bool
	memo := map[[2]int]bool{}
	match = func(i, j int) bool {
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var v bool
		switch {
		case i == len(pr):
			v = j == len(sr)
		case pr[i] == '*':
			v = match(i+1, j) || (j < len(sr) && match(i, j+1))
		case pr[i] == '%':
			v = match(i+1, j) || (j < len(sr) && sr[j] != delim && match(i, j+1))
		default:
			v = j < len(sr) && pr[i] == sr[j] && match(i+1, j+1)
		}
		memo[k] = v
		return v
	}
	return match(0, 0)
}

// mutf7Lookalikes finds the local folders, new on this side, whose names
// are the modified UTF-7 spelling of a server folder new on the local side
// ("Entw&APw-rfe" beside the server's "Entwürfe"): a tree mbsync 1.4 or
// OfflineIMAP kept, read with UTF-8 names. Syncing them would copy every
// message of the folder both ways under two names. It maps each such local
// name to the server's.
func mutf7Lookalikes(fs []folderSides, delim rune) map[string]string {
	remoteOnly := map[string]bool{}
	for _, f := range fs {
		if f.Remote && !f.Local && !f.InState {
			remoteOnly[f.Name] = true
		}
	}
	out := map[string]string{}
	for _, f := range fs {
		if !f.Local || f.Remote || f.InState || !strings.Contains(f.Name, "&") {
			continue
		}
		levels := []string{f.Name}
		if delim != 0 {
			levels = strings.Split(f.Name, string(delim))
		}
		for i, l := range levels {
			d, err := mutf7.Decode(l)
			if err != nil {
				levels = nil
				break
			}
			levels[i] = d
		}
		if levels == nil {
			continue
		}
		if name := strings.Join(levels, string(delim)); name != f.Name && remoteOnly[name] {
			out[f.Name] = name
		}
	}
	return out
}

// reportUnmapped says which local folders cannot be synced because their
// directory names are no folder name of this server (a "Notes.old" where
// the server separates levels with '.'): an error when they hold mail,
// which would otherwise never reach the server, else a note.
func reportUnmapped(o Options, rels []string, delim rune, res *Result) {
	for _, rel := range rels {
		n := 0
		for _, sub := range []string{"cur", "new"} {
			ents, _ := os.ReadDir(filepath.Join(o.Store.Root(), rel, sub))
			n += len(ents)
		}
		msg := fmt.Sprintf("local folder %s is not synced: the server separates folder levels with %q, so no server folder can have this name; rename the directory", rel, delim)
		if n > 0 {
			res.Errors = append(res.Errors, fmt.Sprintf("%s (it holds %d messages)", msg, n))
		} else {
			res.note("%s", msg)
		}
	}
}

// serverRenames finds folders the server renamed: a folder synced before
// and now gone on the server, and a folder new on the server, missing
// locally, with the same UIDVALIDITY (servers keep a renamed folder's
// UIDVALIDITY and UIDs, RFC 3501 6.3.5). It maps each old name to its new
// one; an ambiguous UIDVALIDITY maps nothing.
func serverRenames(fs []folderSides, oldUV, newUV map[string]uint32) map[string]string {
	gone := map[uint32][]string{}
	for _, f := range fs {
		if f.InState && f.Local && !f.Remote && oldUV[f.Name] != 0 {
			gone[oldUV[f.Name]] = append(gone[oldUV[f.Name]], f.Name)
		}
	}
	arrived := map[uint32][]string{}
	for _, f := range fs {
		if f.Remote && !f.InState && !f.Local && newUV[f.Name] != 0 {
			arrived[newUV[f.Name]] = append(arrived[newUV[f.Name]], f.Name)
		}
	}
	out := map[string]string{}
	for uv, olds := range gone {
		if news := arrived[uv]; len(olds) == 1 && len(news) == 1 {
			out[olds[0]] = news[0]
		}
	}
	return out
}
