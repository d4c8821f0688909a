package offlineimap

import (
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
)

// Paths expand as OfflineIMAP expands them: "~" and "~user" (expanduser),
// then $VAR and ${VAR} of variables that are set (expandvars; others stay
// as written), then made absolute.

// expandUser is Python's os.path.expanduser with home for "~".
func (t *translator) expandUser(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		return filepath.Join(t.home, p[1:])
	}
	if strings.HasPrefix(p, "~") {
		name, rest, _ := strings.Cut(p[1:], "/")
		if u, err := user.Lookup(name); err == nil {
			return filepath.Join(u.HomeDir, rest)
		}
	}
	return p
}

var varRe = regexp.MustCompile(`\$(\w+|\{[^}]*\})`)

// expandVars is Python's os.path.expandvars: $NAME and ${NAME} of set
// variables are replaced, the others kept as written.
func expandVars(p string) string {
	return varRe.ReplaceAllStringFunc(p, func(m string) string {
		name := strings.Trim(m[1:], "{}")
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return m
	})
}

// abs makes p absolute (OfflineIMAP resolved relative paths against its
// working directory; the import's is the best guess).
func (t *translator) abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
