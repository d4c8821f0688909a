package mbsync

import (
	"path/filepath"
	"strings"

	"github.com/mdsync/mdsync/internal/migrate"
)

// maildirFor returns the [maildir.NAME] section for a MaildirStore,
// choosing its root, layout and name spelling the first time.
//
// mdsync's layouts fix where INBOX is: verbatim and flat keep it in
// root/INBOX, maildir++ makes the root itself INBOX. mbsync places INBOX
// wherever Inbox says, and the other folders below Path. So:
//
//   - SubFolders Maildir++: layout maildir++, root = Inbox (mbsync puts
//     every folder in Inbox/.A.B).
//   - Flatten D: layout flat, separator D, root = Path.
//   - otherwise: layout verbatim, root = Path; without a Path the
//     directory holding Inbox when Inbox is named INBOX. When Inbox is not
//     root/INBOX and the store's channels sync only INBOX, layout
//     maildir++ with root = Inbox fits instead.
//
// Whatever still does not fit is found folder by folder in adopt (mbsync's
// directory differs from mdsync's) and noted there.
func (r *reader) maildirFor(st *maildirStore) *migrate.Maildir {
	if out, ok := r.maildirs[st]; ok {
		return out
	}
	out := &migrate.Maildir{Name: r.uniqueName("maildir", st.Name)}
	r.maildirs[st] = out
	r.maildirOrder = append(r.maildirOrder, out)
	s := st.Sec
	pathRoot := strings.TrimSuffix(st.Path, "/")
	inbox := filepath.Clean(st.Inbox)
	switch {
	case st.SubFolders == "maildir++":
		out.Layout, out.Path = "maildir++", inbox
	case st.Flatten != "":
		out.Layout, out.Separator, out.Path = "flat", st.Flatten, pathRoot
		if st.Path == "" {
			out.Path = filepath.Dir(inbox)
		}
		r.note(s.last("Flatten").Line, "Flatten %s: carried over as layout = \"flat\" (folder A/B is the directory A%sB)", st.Flatten, st.Flatten)
	default:
		out.Layout, out.Path = "verbatim", pathRoot
		if st.Path == "" {
			out.Path = filepath.Dir(inbox)
		}
		if inbox != filepath.Join(out.Path, "INBOX") && r.inboxOnly(st) {
			out.Layout, out.Path = "maildir++", inbox
		}
	}
	out.Path = filepath.Clean(out.Path)
	line := s.Line
	if e := s.last("Inbox"); e != nil {
		line = e.Line
	}
	if want, _ := mdsyncPath(*out, "INBOX"); want != inbox {
		r.note(line, "Inbox %s does not fit mdsync's %s layout, which keeps INBOX in %s: move it there before the first mdsync run (mdsync then matches its messages by content), or mdsync downloads INBOX again into %s", st.Inbox, out.Layout, want, want)
	}
	if st.Path != "" && !strings.HasSuffix(st.Path, "/") && out.Layout != "maildir++" {
		r.note(s.last("Path").Line, "Path %s has no trailing slash, so mbsync keeps folder A in %sA; mdsync keeps folders inside the directory %s, so they are not adopted: rename them before the first run", st.Path, st.Path, out.Path)
	}
	for _, e := range s.Entries {
		switch e.Key {
		case "SubFolders":
			if st.SubFolders == "legacy" && st.Flatten == "" {
				r.note(e.Line, "SubFolders Legacy (nested folders as A/.B) is not supported by mdsync, which nests them as A/B (verbatim); nested folders are not adopted: rename A/.B to A/B before the first run, or mdsync downloads them again")
			}
		case "AltMap":
			if st.AltMap {
				r.note(e.Line, "AltMap yes: folders that keep their UIDs in .isyncuidmap.db are not adopted (mdsync cannot read that database); mdsync matches their messages by content on its first run")
			}
		case "InfoDelimiter":
			if st.InfoDelim != ':' && st.InfoDelim != '!' {
				r.note(e.Line, "InfoDelimiter %c: mdsync reads flags only after \":2,\" or \"!2,\" in file names; this store's files would look flagless to it", st.InfoDelim)
			}
		case "Path", "Inbox":
			if a := e.Arg(); r.version == v14 && !strings.HasPrefix(a, "~") && !filepath.IsAbs(a) {
				r.note(e.Line, "%s %s is relative: mbsync 1.4 takes it relative to the directory it is started in; taken relative to the config file's directory (%s) here", e.Word, a, r.base)
			}
		case "Flatten":
		default:
			r.noteStoreOption(e)
		}
	}
	if st.SubFolders == "" && st.Flatten == "" && out.Layout == "verbatim" && !r.inboxOnly(st) {
		r.note(s.Line, "MaildirStore %s has no SubFolders: mbsync refuses nested folders then (\"does not specify SubFolders style\"); mdsync syncs them too, as nested directories (layout verbatim)", st.Name)
	}
	if st.InfoDelim != ':' && st.InfoDelim != '!' && s.last("InfoDelimiter") == nil {
		r.note(s.Line, "FieldDelimiter %c makes it this store's InfoDelimiter: mdsync reads flags only after \":2,\" or \"!2,\" in file names", st.InfoDelim)
	}
	out.Names = r.detectNames(st, out)
	return out
}

// inboxOnly reports whether every channel using st syncs only its INBOX.
func (r *reader) inboxOnly(st *maildirStore) bool {
	for _, ch := range r.model.Channels {
		if ch.Near.Maildir != st {
			continue
		}
		if len(ch.Patterns) > 0 || (ch.Near.Box != "" && ch.Near.Box != "INBOX") {
			return false
		}
	}
	return true
}

// detectNames decides how the tree spells non-ASCII folder names: "mutf7"
// when a directory name is valid modified UTF-7 for a non-ASCII name (as
// mbsync 1.4 writes them), "utf8" when one is non-ASCII UTF-8 (1.5), and
// without such a directory what the release that wrote it does.
func (r *reader) detectNames(st *maildirStore, md *migrate.Maildir) string {
	var mutf7, utf8 string
	seen := map[string]bool{}
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		if depth > 10 || seen[dir] {
			return
		}
		seen[dir] = true
		for _, ent := range readDirNames(dir) {
			if ent == "cur" || ent == "new" || ent == "tmp" {
				continue
			}
			for _, part := range strings.Split(ent, ".") {
				if mutf7 == "" && hasMUTF7NonASCII(part) {
					mutf7 = filepath.Join(dir, ent)
				}
				if utf8 == "" && hasUTF8NonASCII(part) {
					utf8 = filepath.Join(dir, ent)
				}
			}
			walk(filepath.Join(dir, ent), depth+1)
		}
	}
	walk(md.Path, 0)
	walk(filepath.Clean(st.Inbox), 0)
	switch {
	case mutf7 != "" && utf8 != "":
		r.note(st.Sec.Line, "MaildirStore %s: folder names on disk are spelled both in modified UTF-7 (%s) and in UTF-8 (%s); names = \"mutf7\" chosen, the UTF-8 ones are not adopted", st.Name, mutf7, utf8)
		return "mutf7"
	case mutf7 != "":
		return "mutf7"
	case utf8 != "":
		return "utf8"
	case r.version == v15:
		return "utf8"
	}
	return "mutf7"
}
