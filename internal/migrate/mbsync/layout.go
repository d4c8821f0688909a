package mbsync

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Where mbsync keeps a mailbox of a MaildirStore (drv_maildir.c,
// maildir_select_box and maildir_join_path). Box names are canonical:
// '/'-separated, spelled as mbsync spells them (modified UTF-7 in 1.4).
//
//   - INBOX is Inbox; "INBOX/sub" is below Inbox.
//   - Path is a string prefix, not a directory: "Path ~/Mail/" puts Archive
//     in ~/Mail/Archive, "Path ~/Mail" in ~/MailArchive.
//   - SubFolders Verbatim: "top/sub" is Path/top/sub, "INBOX/sub" is
//     Inbox/sub.
//   - SubFolders Maildir++: "top/sub" is Inbox/.top.sub, "INBOX/sub" is
//     Inbox/..sub; Path may not be set.
//   - SubFolders Legacy: "top/sub" is Path/top/.sub.
//   - SubFolders unset (the default): like Verbatim, but a box with a '/' is
//     an error ("does not specify SubFolders style"): mbsync 1.4 syncs no
//     nested folder then.
//   - Flatten D: the box name's '/' becomes D first ("top/sub" is
//     Path/topDsub, "INBOX/sub" is Path/INBOXDsub); SubFolders then has no
//     effect.

var errNoSubFolders = errors.New("a nested folder, but SubFolders is not set")

// flat returns the name mbsync uses inside the store for box: the box
// itself, or with Flatten its '/' replaced by the delimiter.
func (st *maildirStore) flat(box string) string {
	if st.Flatten == "" {
		return box
	}
	return strings.ReplaceAll(box, "/", st.Flatten)
}

// boxPath returns the directory of box.
func (st *maildirStore) boxPath(box string) (string, error) {
	name := st.flat(box)
	if name == "INBOX" {
		return filepath.Clean(st.Inbox), nil
	}
	inInbox := strings.HasPrefix(name, "INBOX/")
	if inInbox {
		name = name[len("INBOX"):] // keeps the leading '/'
	}
	prefix := st.Path
	if inInbox || st.SubFolders == "maildir++" {
		prefix = st.Inbox
	} else if prefix == "" {
		return "", errors.New("the store has no Path")
	}
	var b strings.Builder
	b.WriteString(prefix)
	if st.SubFolders == "maildir++" {
		b.WriteString("/.")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '/' {
			b.WriteByte(c)
			continue
		}
		switch st.SubFolders {
		case "":
			return "", errNoSubFolders
		case "verbatim":
			b.WriteByte('/')
		case "legacy":
			b.WriteString("/.")
		case "maildir++":
			b.WriteByte('.')
		}
	}
	if st.SubFolders == "maildir++" && strings.Contains(strings.TrimPrefix(name, "/"), ".") {
		return "", errors.New("Maildir++ does not allow dots in folder names")
	}
	return filepath.Clean(b.String()), nil
}

// listBoxes returns the boxes of the store found on disk, like mbsync's
// maildir_list_store: every directory with a cur/ is a box, named back from
// its path by the rules above. INBOX is always listed. With SubFolders
// unset, nested directories are not listed (mbsync fails on them).
func (st *maildirStore) listBoxes() []string {
	set := map[string]bool{"INBOX": true}
	add := func(name string) {
		if st.Flatten != "" {
			name = strings.ReplaceAll(name, st.Flatten, "/")
		}
		set[name] = true
	}
	isBox := func(dir string) bool { return dirExists(filepath.Join(dir, "cur")) }
	if st.SubFolders == "maildir++" {
		for _, ent := range readDirNames(st.Inbox) {
			if len(ent) < 2 || ent[0] != '.' || !isBox(filepath.Join(st.Inbox, ent)) {
				continue
			}
			if ent[1] == '.' {
				if len(ent) > 2 {
					add("INBOX/" + strings.ReplaceAll(ent[2:], ".", "/"))
				}
			} else {
				add(strings.ReplaceAll(ent[1:], ".", "/"))
			}
		}
		return sortedKeys(set)
	}
	nested := st.SubFolders != "" && st.Flatten == ""
	var walk func(dir, name string, depth int)
	walk = func(dir, name string, depth int) {
		if depth > 10 {
			return
		}
		for _, ent := range readDirNames(dir) {
			if ent == "cur" || ent == "new" || ent == "tmp" {
				continue
			}
			p := filepath.Join(dir, ent)
			if p == filepath.Clean(st.Inbox) && name != "INBOX/" {
				if nested {
					walk(p, "INBOX/", depth+1) // Inbox nested into Path
				}
				continue
			}
			level := ent
			if st.SubFolders == "legacy" && depth > 0 {
				if ent[0] != '.' {
					continue
				}
				level = ent[1:]
			} else if st.SubFolders == "legacy" && ent[0] == '.' {
				continue
			}
			if name == "" && level == "INBOX" {
				continue // mbsync: "ignoring INBOX in Path"
			}
			if isBox(p) {
				add(name + level)
			}
			if nested {
				walk(p, name+level+"/", depth+1)
			}
		}
	}
	if st.Path != "" && strings.HasSuffix(st.Path, "/") {
		walk(filepath.Clean(st.Path), "", 0)
	}
	if nested {
		walk(filepath.Clean(st.Inbox), "INBOX/", 1)
	}
	return sortedKeys(set)
}

func readDirNames(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() || e.Type()&os.ModeSymlink != 0 {
			names = append(names, e.Name())
		}
	}
	return names
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
