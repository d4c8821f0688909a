package mbsync

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// localFile is a message file of a Maildir folder that carries an mbsync
// UID.
type localFile struct {
	Sub  string // "cur" or "new"
	Name string
}

// scanUIDs reads cur/ and new/ of dir once and maps the UIDs mbsync put in
// the file names to the files. mbsync's native scheme (drv_maildir.c) puts
// the UID in the name as ",U=<n>" before the info part
// ("1700000000.123_4.host,U=17:2,FS"); it takes the first ",U=" and the
// digits after it, and skips names starting with '.'. A UID found on two
// files is in dups (mbsync itself stops with "duplicate UID" then).
func scanUIDs(dir string) (files map[uint32]localFile, dups map[uint32]bool, err error) {
	files, dups = map[uint32]localFile{}, map[uint32]bool{}
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return nil, nil, err
		}
		for _, e := range ents {
			name := e.Name()
			if name == "" || name[0] == '.' || e.IsDir() {
				continue
			}
			uid := nameUID(name)
			if uid == 0 {
				continue
			}
			if _, seen := files[uid]; seen {
				dups[uid] = true
				continue
			}
			files[uid] = localFile{Sub: sub, Name: name}
		}
	}
	return files, dups, nil
}

// nameUID is the UID in a file name, 0 when there is none.
func nameUID(name string) uint32 {
	i := strings.Index(name, ",U=")
	if i < 0 {
		return 0
	}
	s := name[i+3:]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, err := strconv.ParseUint(s[:j], 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// mdsyncKey returns the Maildir key mdsync derives from a file name: the
// name up to the last ":2," (or, failing that, "!2,"), or the whole name;
// ok is false when mdsync would not accept the name (an empty key, a key
// with '/', ':' or "!2,", a leading '.', over 200 bytes, or flags that are
// not letters), so that the file cannot be adopted.
func mdsyncKey(name string) (key string, ok bool) {
	i := strings.LastIndex(name, ":2,")
	if i < 0 {
		i = strings.LastIndex(name, "!2,")
	}
	key, info := name, ""
	if i >= 0 {
		key, info = name[:i], name[i+3:]
	}
	if key == "" || key[0] == '.' || len(key) > 200 || strings.ContainsAny(key, "/:\x00") || strings.Contains(key, "!2,") {
		return "", false
	}
	for j := 0; j < len(info); j++ {
		if c := info[j]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return "", false
		}
	}
	return key, true
}

// readUIDValidity reads a folder's .uidvalidity: "UIDVALIDITY\nNEXTUID\n".
func readUIDValidity(dir string) (uint32, bool) {
	b, err := os.ReadFile(filepath.Join(dir, ".uidvalidity"))
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0, false
	}
	n, err := strconv.ParseUint(f[0], 10, 32)
	return uint32(n), err == nil
}
