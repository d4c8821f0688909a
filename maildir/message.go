package maildir

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Message is one message file of a folder, as seen by a scan.
type Message struct {
	// Key is the file name up to the info separator (":2," or, on read,
	// "!2,"). It survives flag renames and moves from new/ to cur/.
	Key string
	// Flags are the sorted, de-duplicated info flag letters, e.g. "FS".
	// Unknown letters, including Dovecot keyword letters a-z, are kept.
	Flags string
	// New is true when the file lives in new/.
	New bool
	// Name is the current base name of the file.
	Name string
	// Size and MTime come from a stat; they are zero after ScanNames.
	Size  int64
	MTime time.Time
}

// Path returns the absolute path of m's file in folder f.
func (m Message) Path(f *Folder) string {
	return filepath.Join(f.path, subdir(m.New), m.Name)
}

func subdir(isNew bool) string {
	if isNew {
		return "new"
	}
	return "cur"
}

// NormalizeFlags sorts the flag letters of s and removes duplicates.
func NormalizeFlags(s string) string {
	b := []byte(s)
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	out := b[:0]
	for i, c := range b {
		if i == 0 || c != b[i-1] {
			out = append(out, c)
		}
	}
	return string(out)
}

func isFlagLetter(c byte) bool { return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' }

// checkFlags accepts only ASCII letters.
func checkFlags(flags string) error {
	for i := 0; i < len(flags); i++ {
		if !isFlagLetter(flags[i]) {
			return fmt.Errorf("invalid flag %q in %q", flags[i], flags)
		}
	}
	return nil
}

// checkKey accepts keys that can be written back without ambiguity.
func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case key[0] == '.':
		return fmt.Errorf("key %q starts with a dot", key)
	case strings.ContainsAny(key, "/:\x00"), strings.Contains(key, "!2,"):
		return fmt.Errorf("key %q contains '/', ':', NUL or \"!2,\"", key)
	case len(key) > 200:
		return fmt.Errorf("key %q is too long", key)
	}
	return nil
}

// infoSep returns the index of the info separator (":2," or "!2,") in name,
// preferring ':', or -1.
func infoSep(name string) int {
	if i := strings.LastIndex(name, ":2,"); i >= 0 {
		return i
	}
	return strings.LastIndex(name, "!2,")
}

// parseName splits a base file name into key and normalized flags. Files
// without an info part are accepted in both new/ and cur/ (no flags).
func parseName(name string) (key, flags string, err error) {
	if name == "" || name[0] == '.' {
		return "", "", fmt.Errorf("hidden or empty file name %q", name)
	}
	i := infoSep(name)
	if i < 0 {
		if j := strings.IndexAny(name, ":!"); j >= 0 && strings.HasPrefix(name[j+1:], "1,") {
			return "", "", fmt.Errorf("experimental info in %q", name)
		}
		return name, "", nil
	}
	key, info := name[:i], name[i+3:]
	if key == "" {
		return "", "", fmt.Errorf("empty key in %q", name)
	}
	if err := checkFlags(info); err != nil {
		return "", "", fmt.Errorf("file name %q: %w", name, err)
	}
	return key, NormalizeFlags(info), nil
}

// curName returns the name in cur/ for key and normalized flags, keeping
// the separator character of old (a previous name) if it used "!2,".
func curName(key, flags, old string) string {
	sep := ":2,"
	if len(old) > len(key) && strings.HasPrefix(old, key) && strings.HasPrefix(old[len(key):], "!2,") {
		sep = "!2,"
	}
	return key + sep + flags
}
