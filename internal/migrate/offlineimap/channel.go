package offlineimap

import (
	"github.com/mdsync/mdsync/internal/mutf7"
	"strings"

	"github.com/mdsync/mdsync/internal/migrate"
)

// The channel of an account:
//
//   - create: a side gets new folders unless its repository is readonly or
//     has createfolders = no.
//   - expunge: deletions made in a repository reach the other side unless
//     the first has sync_deletes = no or the second is readonly.
//   - remove: "none"; OfflineIMAP never deletes folders.
//   - folders: the remote and local folderfilter (and the remote
//     folderincludes) when they are of the forms pyexpr.go recognises,
//     combined (both must pass; includes always pass); otherwise "*" and a
//     note. A nametrans other than the identity cannot be translated, and
//     the account's state is then not adopted.

// sides sets where folders are created and deletions propagated, from
// readonly, createfolders and sync_deletes of both repositories.
func (t *translator) sides(ch *migrate.Channel, local, remote *iniSection) error {
	lro, lroLine, err := t.getBool(local, "readonly", false)
	if err != nil {
		return err
	}
	rro, rroLine, err := t.getBool(remote, "readonly", false)
	if err != nil {
		return err
	}
	lcreate, _, err := t.getBool(local, "createfolders", true)
	if err != nil {
		return err
	}
	rcreate, _, err := t.getBool(remote, "createfolders", true)
	if err != nil {
		return err
	}
	// sync_deletes of a repository: whether deletions made in it reach the
	// other side.
	ldel, _, err := t.getBool(local, "sync_deletes", true)
	if err != nil {
		return err
	}
	rdel, _, err := t.getBool(remote, "sync_deletes", true)
	if err != nil {
		return err
	}
	ch.Create = sidesWord(rcreate && !rro, lcreate && !lro)
	ch.Expunge = sidesWord(ldel && !rro, rdel && !lro)
	if rro {
		t.note(rroLine, "readonly on the IMAP side: mdsync will not create folders or delete messages there (create = %q, expunge = %q), but it will upload new local messages and local flag changes, which OfflineIMAP did not", ch.Create, ch.Expunge)
	}
	if lro {
		t.note(lroLine, "readonly on the Maildir side: mdsync will not create folders or delete messages there (create = %q, expunge = %q), but it will download new messages and flag changes, which OfflineIMAP did not", ch.Create, ch.Expunge)
	}
	if ex, line, err := t.getBool(remote, "expunge", true); err != nil {
		return err
	} else if !ex && (ch.Expunge == "both" || ch.Expunge == "imap") {
		t.note(line, "expunge = no: OfflineIMAP only marked messages deleted locally as \\Deleted on the server; mdsync expunges them (set expunge = \"maildir\" or \"none\" to keep them on the server)")
	}
	return nil
}

// sidesWord names a pair of sides the way mdsync's create/expunge do.
func sidesWord(imap, maildir bool) string {
	switch {
	case imap && maildir:
		return "both"
	case imap:
		return "imap"
	case maildir:
		return "maildir"
	}
	return "none"
}

// folders translates folderfilter, folderincludes and nametrans of both
// repositories into the channel's patterns. Names in patterns are UTF-8
// with levels joined by "/" (as migrate.Folder.Name).
func (t *translator) folders(ch *migrate.Channel, a *account, local, remote *iniSection) error {
	for _, s := range []*iniSection{remote, local} {
		v, line, ok, err := s.get("nametrans")
		if err != nil {
			return err
		}
		if ok && !isIdentityLambda(v) {
			a.adopt = false
			t.note(line, "nametrans = %s cannot be translated: mdsync names local folders after the server's, so the existing local folders would not match (and could be uploaded as new folders); rename them first, and the OfflineIMAP state of this account is not adopted", oneLine(v))
		}
	}
	combined := folderFilter{kind: filterAll}
	known := true
	for _, s := range []*iniSection{remote, local} {
		v, line, ok, err := s.get("folderfilter")
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		f, parsed := parseFolderFilter(v)
		if !parsed {
			known = false
			t.note(line, "folderfilter = %s cannot be translated: mdsync will sync every folder; edit folders = [...]", oneLine(v))
			continue
		}
		for i, n := range f.names {
			f.names[i] = t.folderName(n, a, s == local)
		}
		combined = andFilters(combined, f)
	}
	var includes []string
	if v, line, ok, err := remote.get("folderincludes"); err != nil {
		return err
	} else if ok {
		list, parsed := parseStringList(v)
		if !parsed {
			t.note(line, "folderincludes = %s cannot be translated; add those folders to folders = [...]", oneLine(v))
		}
		for _, n := range list {
			includes = append(includes, t.folderName(n, a, false))
		}
	}
	switch combined.kind {
	case filterAll:
		ch.Folders = []string{"*"}
	case filterIn:
		ch.Folders = append([]string{}, combined.names...)
	case filterNotIn:
		ch.Folders = []string{"*"}
		for _, n := range combined.names {
			ch.Folders = append(ch.Folders, "!"+n)
		}
	}
	if combined.kind != filterAll {
		ch.Folders = append(ch.Folders, includes...)
	}
	for _, p := range ch.Folders {
		if strings.ContainsAny(strings.TrimPrefix(p, "!"), "*%") && p != "*" {
			t.note(0, "channel %s: the folder name %q contains a wildcard (* or %%), which mdsync reads as a pattern", ch.Name, strings.TrimPrefix(p, "!"))
		}
	}
	if len(ch.Folders) == 0 {
		t.note(0, "channel %s: the folder filter matches no folder", ch.Name)
	}
	if known {
		c := folderFilter{kind: combined.kind}
		switch combined.kind {
		case filterIn:
			c.names = union(combined.names, includes)
		case filterNotIn:
			c.names = subtract(combined.names, includes) // includes win
		}
		a.filter = &c
	}
	return nil
}

// folderName turns a folder name as OfflineIMAP's Python sees it into
// mdsync's: levels joined by "/", modified UTF-7 decoded.
func (t *translator) folderName(n string, a *account, local bool) string {
	if local && a.sep != "/" {
		n = strings.ReplaceAll(n, a.sep, "/")
	}
	if !a.utf8Names || (!local && a.fvMUTF7) {
		if d, err := mutf7.Decode(n); err == nil {
			n = d
		}
	}
	return n
}

// andFilters is the filter matching what both match.
func andFilters(a, b folderFilter) folderFilter {
	switch {
	case a.kind == filterAll:
		return b
	case b.kind == filterAll:
		return a
	case a.kind == filterIn && b.kind == filterIn:
		return folderFilter{kind: filterIn, names: intersect(a.names, b.names)}
	case a.kind == filterIn:
		return folderFilter{kind: filterIn, names: subtract(a.names, b.names)}
	case b.kind == filterIn:
		return folderFilter{kind: filterIn, names: subtract(b.names, a.names)}
	}
	return folderFilter{kind: filterNotIn, names: union(a.names, b.names)}
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if contains(b, x) && !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func subtract(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !contains(b, x) && !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func union(a, b []string) []string {
	out := subtract(a, nil)
	for _, x := range b {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// match reports whether the filter selects the folder name.
func (f *folderFilter) match(name string) bool {
	switch f.kind {
	case filterIn:
		return contains(f.names, name)
	case filterNotIn:
		return !contains(f.names, name)
	}
	return true
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
