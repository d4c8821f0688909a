package mbsync

import (
	"fmt"
	"github.com/mdsync/mdsync/internal/mutf7"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/mdsync/mdsync/internal/migrate"
)

// mdsyncPath returns the directory mdsync will use for the folder name
// (UTF-8, '/'-separated) in the Maildir section md, following the rules of
// mdsync's maildir package:
//
//   - verbatim: root/INBOX, root/A/B; maildir++: INBOX is root, A/B is
//     root/.A.B; flat: root/INBOX, root/A<sep>B.
//   - a first level spelled INBOX in any case is INBOX;
//   - with Names "mutf7" every other level is spelled in modified UTF-7.
//
// mdsync escapes levels that are unsafe as directory names ('%', '\\',
// control characters, a leading '.' or '~', a level named cur, new or tmp,
// a '.' where '.' joins levels). This function does not reproduce the
// escapes: it reports such a name as an error. The caller adopts a folder
// only when mbsync's directory equals this one, so a name that needs an
// escape is never adopted by mistake.
func mdsyncPath(md migrate.Maildir, name string) (string, error) {
	levels := strings.Split(name, "/")
	if strings.EqualFold(levels[0], "INBOX") {
		levels[0] = "INBOX"
	}
	dotted := md.Layout == "maildir++" || md.Layout == "flat"
	sep := "."
	if md.Layout == "flat" && md.Separator != "" {
		sep = md.Separator
	}
	comps := make([]string, len(levels))
	for i, l := range levels {
		if l == "" {
			return "", fmt.Errorf("folder name %q has an empty level", name)
		}
		if i == 0 && l == "INBOX" {
			comps[i] = l
			continue
		}
		if md.Names == "mutf7" {
			var err error
			if l, err = mutf7.Encode(l); err != nil {
				return "", err
			}
		}
		if needsEscape(l, dotted, sep) {
			return "", fmt.Errorf("mdsync spells the level %q of %q with escapes", l, name)
		}
		comps[i] = l
	}
	switch md.Layout {
	case "maildir++":
		if len(comps) == 1 && comps[0] == "INBOX" {
			return filepath.Clean(md.Path), nil
		}
		return filepath.Join(md.Path, "."+strings.Join(comps, ".")), nil
	case "flat":
		return filepath.Join(md.Path, strings.Join(comps, sep)), nil
	default:
		return filepath.Join(append([]string{md.Path}, comps...)...), nil
	}
}

// needsEscape reports whether mdsync would escape level on disk.
func needsEscape(level string, dotted bool, sep string) bool {
	if level == "cur" || level == "new" || level == "tmp" {
		return true
	}
	if level[0] == '.' || level[0] == '~' || !utf8.ValidString(level) {
		return true
	}
	if dotted && (strings.Contains(level, ".") || strings.Contains(level, sep)) {
		return true
	}
	for i := 0; i < len(level); i++ {
		c := level[i]
		if c < 0x20 || c == 0x7f || c == '%' || c == '/' || c == '\\' {
			return true
		}
	}
	return false
}
