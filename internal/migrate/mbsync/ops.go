package mbsync

import (
	"fmt"
	"strings"
)

// How a channel's Create, Remove, Expunge and Sync lines resolve (config.c
// getopt_helper and merge_ops, main.c merge_actions): a channel's own
// lines replace the global ones, and the arguments of several lines add up.

// boxOp resolves Create, Remove or Expunge for a channel: the channel's
// lines if it has any, else the global ones, else None (mbsync's default);
// the arguments of all lines add up. Far is the server ("imap"), Near the
// Maildir ("maildir").
func (r *reader) boxOp(ch *channel, key string) string {
	entries := ch.Sec.all(key)
	if len(entries) == 0 {
		entries = r.model.Globals.all(key)
	}
	far, near := false, false
	for _, e := range entries {
		for _, a := range e.Args {
			switch strings.ToLower(a) {
			case "both":
				far, near = true, true
			case "far", "master":
				far = true
			case "near", "slave":
				near = true
			}
		}
	}
	switch {
	case far && near:
		return "both"
	case far:
		return "imap"
	case near:
		return "maildir"
	}
	return "none"
}

// syncGaps describes what a channel's Sync leaves out, "" for everything
// (the default, All). It follows merge_ops: simple words select rows
// (Pull, Push) and columns (New, Gone, Flags, ...), a missing class
// meaning all of it; compound words (PullNew, ...) select single cells.
func (r *reader) syncGaps(ch *channel) string {
	entries := ch.Sec.all("Sync")
	if len(entries) == 0 {
		entries = r.model.Globals.all("Sync")
	}
	if len(entries) == 0 {
		return ""
	}
	const (
		tNew = 1 << iota
		tDelete
		tFlags
		tRenew
		tOld
		tAll = tNew | tDelete | tFlags | tRenew
	)
	typeOf := map[string]int{"new": tNew, "delete": tDelete, "gone": tDelete, "flags": tFlags, "renew": tRenew, "upgrade": tRenew, "old": tOld, "full": tAll}
	var in, out, types, dirs int // in: to the Maildir (pull), out: to the server (push)
	var words []string
	compound := false
	for _, e := range entries {
		for _, a := range e.Args {
			w := strings.ToLower(a)
			words = append(words, a)
			switch {
			case w == "pull":
				dirs |= 1
			case w == "push":
				dirs |= 2
			case w == "all" || w == "full":
				dirs |= 3
			case w == "none" || w == "noop":
			case strings.HasPrefix(w, "pull") && typeOf[w[4:]] != 0:
				in |= typeOf[w[4:]]
				compound = true
			case strings.HasPrefix(w, "push") && typeOf[w[4:]] != 0:
				out |= typeOf[w[4:]]
				compound = true
			default:
				types |= typeOf[w]
			}
		}
	}
	if compound {
		in |= types
		out |= types
		if dirs&1 != 0 {
			in |= tAll
		}
		if dirs&2 != 0 {
			out |= tAll
		}
	} else if dirs != 0 || types != 0 {
		if types == 0 {
			types = tAll
		}
		if dirs == 0 {
			dirs = 3
		}
		if dirs&1 != 0 {
			in = types
		}
		if dirs&2 != 0 {
			out = types
		}
	}
	const need = tNew | tDelete | tFlags
	if in&need == need && out&need == need {
		return ""
	}
	missing := func(got int) string {
		var m []string
		for _, t := range []struct {
			bit  int
			name string
		}{{tNew, "new messages"}, {tDelete, "deletions"}, {tFlags, "flag changes"}} {
			if got&t.bit == 0 {
				m = append(m, t.name)
			}
		}
		if len(m) > 1 {
			return strings.Join(m[:len(m)-1], ", ") + " or " + m[len(m)-1]
		}
		return strings.Join(m, "")
	}
	var gaps []string
	if m := missing(in); m != "" {
		gaps = append(gaps, "from the server to the local side no "+m)
	}
	if m := missing(out); m != "" {
		gaps = append(gaps, "from the local side to the server no "+m)
	}
	return fmt.Sprintf("Sync %s: mbsync propagated %s", strings.Join(words, " "), strings.Join(gaps, ", and "))
}
