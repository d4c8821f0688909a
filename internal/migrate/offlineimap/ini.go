package offlineimap

import (
	"fmt"
	"strings"

	"github.com/mdsync/mdsync/internal/migrate"
)

// This file reads OfflineIMAP's config the way Python's
// configparser.ConfigParser (OfflineIMAP's SafeConfigParser, with
// BasicInterpolation and default options) does, so that a file OfflineIMAP
// accepts is accepted here and one it refuses is refused at the same line:
//
//   - "[name]" starts a section; the name is everything between the first
//     "[" and the last "]" (configparser's "very permissive" header) and is
//     case-sensitive. "[DEFAULT]" holds values every section inherits.
//   - "key = value" or "key: value": the first "=" or ":" ends the key; keys
//     are case-insensitive (lowercased), values are trimmed.
//   - A line indented deeper than its key's line continues the value (joined
//     with "\n"). Blank lines inside a value are kept (empty_lines_in_values),
//     trailing ones are dropped.
//   - Lines whose first non-blank character is "#" or ";" are comments. There
//     are no inline comments: "key = a # b" has the value "a # b".
//   - Anything else (a line with no "=" or ":", an empty key, a key before the
//     first section) is an error, as are a repeated section (other than
//     [DEFAULT]) and a repeated key in one section (configparser's strict
//     mode).
//   - Values are interpolated when read: "%(name)s" is the value of name in
//     the same section or [DEFAULT], "%%" is "%", and any other "%" is an
//     error (OfflineIMAP fails the same way when it reads that key).

// iniFile is a parsed config file.
type iniFile struct {
	path     string
	sections []*iniSection // in file order, without [DEFAULT]
	byName   map[string]*iniSection
	defaults *iniSection // [DEFAULT]; never nil
}

// iniSection is one [section].
type iniSection struct {
	name  string
	line  int
	keys  []*iniKey // in file order
	byKey map[string]*iniKey
	file  *iniFile
}

// iniKey is one key with its raw (not yet interpolated) value.
type iniKey struct {
	name  string // lowercased
	value string
	line  int
}

func newSection(f *iniFile, name string, line int) *iniSection {
	return &iniSection{name: name, line: line, byKey: map[string]*iniKey{}, file: f}
}

// parseINI parses data; errors are *migrate.Error.
func parseINI(path string, data []byte) (*iniFile, error) {
	f := &iniFile{path: path, byName: map[string]*iniSection{}}
	f.defaults = newSection(f, "DEFAULT", 0)
	errAt := func(line int, format string, args ...any) error {
		return &migrate.Error{File: path, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimPrefix(text, "\ufeff")
	var (
		cur    *iniSection
		key    *iniKey
		parts  []string // the value lines of key
		indent int      // indentation of key's line
	)
	flush := func() {
		if key != nil {
			key.value = strings.TrimRight(strings.Join(parts, "\n"), " \t\n")
		}
		key, parts = nil, nil
	}
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
			continue // a comment, also inside a value
		}
		if trimmed == "" {
			if key != nil {
				parts = append(parts, "")
			}
			continue
		}
		lead := len(line) - len(strings.TrimLeft(line, " \t"))
		if key != nil && lead > indent {
			parts = append(parts, trimmed)
			continue
		}
		flush()
		indent = lead
		if strings.HasPrefix(trimmed, "[") {
			if end := strings.LastIndex(trimmed, "]"); end > 1 {
				name := trimmed[1:end]
				switch {
				case name == "DEFAULT": // may appear more than once
					cur = f.defaults
				case f.byName[name] != nil:
					return nil, errAt(n, "section [%s] appears twice (first at line %d; OfflineIMAP refuses this file)", name, f.byName[name].line)
				default:
					cur = newSection(f, name, n)
					f.byName[name] = cur
					f.sections = append(f.sections, cur)
				}
				continue
			}
		}
		if cur == nil {
			return nil, errAt(n, "%q comes before the first [section]", trimmed)
		}
		eq := strings.IndexAny(trimmed, "=:")
		if eq < 0 {
			return nil, errAt(n, "%q is neither a [section] nor a \"key = value\" line", trimmed)
		}
		name := strings.ToLower(strings.TrimSpace(trimmed[:eq]))
		if name == "" {
			return nil, errAt(n, "%q has no key before %q", trimmed, trimmed[eq:eq+1])
		}
		if prev := cur.byKey[name]; prev != nil {
			return nil, errAt(n, "key %q appears twice in [%s] (first at line %d; OfflineIMAP refuses this file)", name, cur.name, prev.line)
		}
		key = &iniKey{name: name, line: n}
		parts = []string{strings.TrimSpace(trimmed[eq+1:])}
		cur.keys = append(cur.keys, key)
		cur.byKey[name] = key
	}
	flush()
	return f, nil
}

// lookup finds key in s or [DEFAULT], uninterpolated.
func (s *iniSection) lookup(key string) *iniKey {
	if k := s.byKey[key]; k != nil {
		return k
	}
	if s != s.file.defaults {
		return s.file.defaults.byKey[key]
	}
	return nil
}

// has reports whether key is set in s or [DEFAULT] (configparser's
// has_option).
func (s *iniSection) has(key string) bool { return s.lookup(key) != nil }

// get returns the interpolated value of key and its line; ok is false when
// the key is not set. Interpolation errors are *migrate.Error at the key's
// line.
func (s *iniSection) get(key string) (val string, line int, ok bool, err error) {
	k := s.lookup(key)
	if k == nil {
		return "", 0, false, nil
	}
	v, err := s.interpolate(k.value, 1)
	if err != nil {
		return "", k.line, true, &migrate.Error{File: s.file.path, Line: k.line, Msg: fmt.Sprintf("[%s] %s: %v", s.name, key, err)}
	}
	return v, k.line, true, nil
}

// maxDepth is configparser's MAX_INTERPOLATION_DEPTH.
const maxDepth = 10

// interpolate expands %(name)s and %% the way BasicInterpolation does.
func (s *iniSection) interpolate(v string, depth int) (string, error) {
	if depth > maxDepth {
		return "", fmt.Errorf("interpolation nested deeper than %d levels (a loop?)", maxDepth)
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(v, '%')
		if i < 0 {
			b.WriteString(v)
			return b.String(), nil
		}
		b.WriteString(v[:i])
		v = v[i:]
		switch {
		case strings.HasPrefix(v, "%%"):
			b.WriteByte('%')
			v = v[2:]
		case strings.HasPrefix(v, "%("):
			end := strings.Index(v, ")s")
			close := strings.IndexByte(v, ')')
			if end < 0 || close != end || end == 2 {
				return "", fmt.Errorf("bad interpolation %q (write %%(name)s, or %%%% for a literal %%)", firstN(v, 20))
			}
			name := strings.ToLower(v[2:end])
			k := s.lookup(name)
			if k == nil {
				return "", fmt.Errorf("%%(%s)s names a key that is neither in [%s] nor in [DEFAULT]", name, s.name)
			}
			sub, err := s.interpolate(k.value, depth+1)
			if err != nil {
				return "", err
			}
			b.WriteString(sub)
			v = v[end+2:]
		default:
			return "", fmt.Errorf("'%%' must be followed by '%%' or '(' (write %%%% for a literal %%): %q", firstN(v, 20))
		}
	}
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// boolean parses a configparser boolean.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "yes", "true", "on":
		return true, true
	case "0", "no", "false", "off":
		return false, true
	}
	return false, false
}
