package mbsync

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mdsync/mdsync/internal/migrate"
)

// adopt reads mbsync's state of every box of every translated channel and
// turns it into migrate.Folders.
func (r *reader) adopt() error {
	for _, p := range r.channels {
		for _, box := range r.channelBoxes(p.ch) {
			if err := r.ctx.Err(); err != nil {
				return err
			}
			if f, ok := r.adoptBox(p, box); ok {
				r.res.Folders = append(r.res.Folders, f)
			}
		}
	}
	r.sortNotes()
	return nil
}

// channelBoxes lists the boxes a channel syncs that have a local folder:
// its one box, or with Patterns the local folders whose names match them
// after the prefix (translateChannel made sure both sides have the same
// prefix, so a box has one name on both sides). A box with state but no
// local folder has nothing to adopt.
func (r *reader) channelBoxes(ch *channel) []string {
	if len(ch.Patterns) == 0 {
		box := ch.Far.Box
		if box == "" {
			box = "INBOX"
		}
		return []string{box}
	}
	var out []string
	for _, box := range ch.Near.Maildir.listBoxes() {
		if rel, ok := strings.CutPrefix(box, ch.Near.Box); ok && patternsMatch(rel, ch.Patterns) {
			out = append(out, box)
		}
	}
	return out
}

// patternsMatch is mbsync's filter_boxes: the last pattern that matches
// decides, a leading '!' excludes, and no match excludes.
func patternsMatch(name string, patterns []string) bool {
	for i := len(patterns) - 1; i >= 0; i-- {
		p, neg := strings.CutPrefix(patterns[i], "!")
		if matchPattern(name, p) {
			return !neg
		}
	}
	return false
}

// matchPattern is mbsync's matches(): '*' matches anything, '%' anything
// but '/'.
func matchPattern(t, p string) bool {
	for {
		if p == "" {
			return t == ""
		}
		switch p[0] {
		case '*', '%':
			for i := 0; ; i++ {
				// mbsync checks for '/' before trying the rest at i.
				if p[0] == '%' && i < len(t) && t[i] == '/' {
					return false
				}
				if matchPattern(t[i:], p[1:]) {
					return true
				}
				if i == len(t) {
					return false
				}
			}
		default:
			if t == "" || p[0] != t[0] {
				return false
			}
			p, t = p[1:], t[1:]
		}
	}
}

// adoptBox adopts one box, or notes why not. The box is adopted only when
// every piece fits: mdsync's directory for the folder is mbsync's, no
// interrupted run left a journal, the state file parses, and the folder's
// .uidvalidity is the one the state was written against.
func (r *reader) adoptBox(p *chanPlan, box string) (migrate.Folder, bool) {
	st := p.ch.Near.Maildir
	dir, err := st.boxPath(box)
	if err != nil {
		return migrate.Folder{}, false // mbsync cannot sync it either
	}
	sp := r.statePath(p.ch, box, box, dir)
	if !fileExists(sp) {
		return migrate.Folder{}, false // mbsync never synced it: nothing to adopt
	}
	name := r.folderName(box)
	skip := func(format string, args ...any) (migrate.Folder, bool) {
		r.noteFile(sp, "folder %s: "+format, append([]any{name}, args...)...)
		return migrate.Folder{}, false
	}
	want, err := mdsyncPath(*p.maildir, name)
	if err != nil {
		return skip("not adopted: %v; mdsync will keep it elsewhere and download it again", err)
	}
	if filepath.Clean(want) != dir {
		return skip("not adopted: mbsync keeps it in %s, mdsync will use %s; move it there before the first mdsync run (mdsync then matches its messages by content), or mdsync downloads it again", dir, want)
	}
	if st.InfoDelim != ':' && st.InfoDelim != '!' {
		return skip("not adopted: its file names carry the flags after %q, where mdsync does not look for them", string(st.InfoDelim)+"2,")
	}
	if fileExists(sp + ".journal") {
		return skip("not adopted: mbsync was interrupted (%s.journal exists); run mbsync once more before importing, or mdsync will match that folder by content", sp)
	}
	if st.AltMap || fileExists(filepath.Join(dir, ".isyncuidmap.db")) {
		return skip("not adopted: its UIDs are in .isyncuidmap.db (AltMap), which mdsync cannot read; mdsync matches its messages by content")
	}
	text, err := os.ReadFile(sp)
	if err != nil {
		return skip("not adopted: %v", err)
	}
	state, err := parseState(string(text))
	if err != nil {
		return skip("not adopted: the state file is broken (%v); mdsync matches its messages by content", err)
	}
	uv, ok := readUIDValidity(dir)
	if !ok {
		return skip("not adopted: %s has no readable .uidvalidity, so its UIDs cannot be trusted; mdsync matches its messages by content", dir)
	}
	if uv != state.NearUV {
		return skip("not adopted: the local UIDVALIDITY is %d but mbsync's state was written for %d (the folder was recreated or renumbered); run mbsync once more before importing, or mdsync matches its messages by content", uv, state.NearUV)
	}
	files, dups, err := scanUIDs(dir)
	if err != nil {
		return skip("not adopted: %v", err)
	}
	pairs, c := buildPairs(state, files, dups)
	r.notePairs(sp, name, dir, c)
	return migrate.Folder{Channel: p.out.Name, Name: name, UIDValidity: state.FarUV, Pairs: pairs}, true
}

// pairCounts counts the state lines that did not become pairs, by reason.
type pairCounts struct {
	gone, farOnly, nearOnly, farDummy, expired, dup, badName int
	nearDummies                                              []string // paths of local placeholders
}

// buildPairs makes a pair of every state line that names a message on
// both sides that is really there: both UIDs set, no placeholder, not
// expired or skipped, a local file carrying the near UID, and a file name
// mdsync accepts. The flags are the state's: the last flags both sides
// agreed on, so that mdsync's three-way merge sees the changes made since
// on either side.
//
// A line whose local file is missing is left out, not adopted as a pair
// with a missing file. Adopted, mdsync would take the message for deleted
// locally and delete it on the server; but the file may be missing for
// reasons other than the user's deletion (a MUA that moved it without
// renaming, a folder restored from a backup, a state that is newer than
// the files), and a wrong guess deletes mail. Left out, the server's copy
// is new to mdsync and is downloaded again: nothing is lost, and the note
// tells the user how to have mbsync propagate the deletion instead.
func buildPairs(st *state, files map[uint32]localFile, dups map[uint32]bool) ([]migrate.Pair, pairCounts) {
	var c pairCounts
	var pairs []migrate.Pair
	farSeen := map[uint32]int{}
	for _, l := range st.Lines {
		if l.Far != 0 {
			farSeen[l.Far]++
		}
	}
	for _, l := range st.Lines {
		f, present := files[l.Near]
		present = present && l.Near != 0
		switch {
		case l.Far == 0 && l.Near == 0:
		case l.Dummy == '>':
			if present {
				c.nearDummies = append(c.nearDummies, filepath.Join(f.Sub, f.Name))
			}
		case l.Dummy == '<':
			c.farDummy++
		case l.Expired || l.Skipped:
			if present {
				c.expired++
			}
		case l.Near == 0:
			c.farOnly++
		case l.Far == 0:
			if present {
				c.nearOnly++
			}
		case dups[l.Near] || farSeen[l.Far] > 1:
			c.dup++
		case !present:
			c.gone++
		default:
			key, ok := mdsyncKey(f.Name)
			if !ok {
				c.badName++
				continue
			}
			pairs = append(pairs, migrate.Pair{UID: l.Far, Key: key, Flags: l.Flags})
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].UID < pairs[j].UID })
	return pairs, c
}

// notePairs tells what the left-out lines mean for the first mdsync run.
func (r *reader) notePairs(sp, name, dir string, c pairCounts) {
	n := func(count int, format string, args ...any) {
		if count > 0 {
			r.noteFile(sp, "folder %s: %d "+format, append([]any{name, count}, args...)...)
		}
	}
	n(c.gone, "message(s) mbsync synced are no longer in %s (deleted locally after mbsync's last run?): mdsync will download them again; to have the deletions reach the server instead, run mbsync once more before importing", dir)
	n(c.farOnly, "server message(s) mbsync has not downloaded (MaxSize, MaxMessages or Sync kept them back): mdsync will download them")
	n(c.nearOnly, "local message(s) mbsync has not uploaded: mdsync will upload them")
	n(c.expired, "message(s) mbsync expired (MaxMessages) are still in %s: mdsync will take them for new local messages and upload them unless you delete them before its first run", dir)
	n(c.farDummy, "message(s) are on the server only as mbsync placeholders (\"[placeholder]\" subjects) of larger local messages: mdsync will upload the real ones and download the placeholders; delete the placeholders on the server")
	n(c.dup, "message(s) share a UID with another (mbsync would stop with \"duplicate UID\"): not adopted; mdsync matches them by content")
	n(c.badName, "message file(s) have names mdsync does not accept as Maildir names: not adopted")
	if len(c.nearDummies) > 0 {
		list := c.nearDummies
		more := ""
		if len(list) > 5 {
			list, more = list[:5], ", ..."
		}
		n(len(c.nearDummies), "local file(s) in %s are mbsync placeholders of large server messages (MaxSize): mdsync would take them for new messages and upload them; delete them before the first mdsync run, and mdsync downloads the real messages: %s%s", dir, strings.Join(list, ", "), more)
	}
}
