package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// Error is a configuration error with its position.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	base := e.File
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", base, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", base, e.Msg)
}

func decodeError(path string, err error) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) && len(sm.Errors) > 0 {
		e := sm.Errors[0]
		row, _ := e.Position()
		key := []string(e.Key())
		msg := fmt.Sprintf("unknown key %q", strings.Join(key, "."))
		if s := suggest(key); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return &Error{File: path, Line: row, Msg: msg}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		msg := de.Error()
		if k := de.Key(); len(k) > 0 {
			msg = strings.Join(k, ".") + ": " + msg
		}
		return &Error{File: path, Line: row, Msg: msg}
	}
	return &Error{File: path, Msg: err.Error()}
}

// fieldsFor lists the TOML keys valid at the place key[:len-1] points to.
func fieldsFor(key []string) []string {
	var t reflect.Type
	switch {
	case len(key) == 1:
		t = reflect.TypeOf(Config{})
	case len(key) == 3:
		switch key[0] {
		case "imap":
			t = reflect.TypeOf(IMAP{})
		case "maildir":
			t = reflect.TypeOf(Maildir{})
		case "channel":
			t = reflect.TypeOf(Channel{})
		case "pop":
			t = reflect.TypeOf(POP{})
		}
	}
	if t == nil {
		return nil
	}
	var out []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			tag := f.Tag.Get("toml")
			if tag != "" && tag != "-" {
				out = append(out, tag)
			}
		}
	}
	walk(t)
	return out
}

func suggest(key []string) string {
	if len(key) == 0 {
		return ""
	}
	last := key[len(key)-1]
	cands := fieldsFor(key)
	if len(key) == 1 {
		cands = append(cands, "imap", "maildir", "channel", "pop")
	}
	best, bestD := "", 3
	for _, c := range cands {
		if d := levenshtein(last, c); d < bestD || (d == bestD && best == "") && d <= 2 {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return strings.Join(append(append([]string{}, key[:len(key)-1]...), best), ".")
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

var (
	headerRe = regexp.MustCompile(`^\s*\[\s*([^\]\s]+)\s*\]`)
	keyRe    = regexp.MustCompile(`^\s*([A-Za-z0-9_\-]+|"[^"]*")\s*=`)
)

// keyLines maps "section.name" and "section.name.key" to the line where
// they are written, so that semantic errors can name a line.
func keyLines(data []byte) map[string]int {
	m := map[string]int{}
	table := ""
	for i, line := range strings.Split(string(data), "\n") {
		if h := headerRe.FindStringSubmatch(line); h != nil {
			table = strings.ReplaceAll(h[1], `"`, "")
			if _, ok := m[table]; !ok {
				m[table] = i + 1
			}
			continue
		}
		if k := keyRe.FindStringSubmatch(line); k != nil {
			name := strings.Trim(k[1], `"`)
			full := name
			if table != "" {
				full = table + "." + name
			}
			if _, ok := m[full]; !ok {
				m[full] = i + 1
			}
		}
	}
	return m
}

// Pos returns "file:line" of a key (or of the closest section that holds
// it), for errors about what the key says.
func (c *Config) Pos(key string) string {
	if line := c.line(key); line > 0 {
		return fmt.Sprintf("%s:%d", c.File, line)
	}
	return c.File
}

func (c *Config) line(key string) int {
	line := c.lines[key]
	for k := key; line == 0 && strings.Contains(k, "."); {
		k = k[:strings.LastIndex(k, ".")]
		line = c.lines[k]
	}
	return line
}

func (c *Config) errAt(key string, format string, args ...interface{}) error {
	line := c.line(key)
	section := key
	if parts := strings.SplitN(key, ".", 3); len(parts) >= 2 {
		section = parts[0] + "." + parts[1]
	}
	return &Error{File: c.File, Line: line, Msg: section + ": " + fmt.Sprintf(format, args...)}
}

func didYouMean(v string, cands []string) string {
	if best := Closest(v, cands); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// Closest returns the candidate a mistyped v most likely meant (at most
// two edits away), or "".
func Closest(v string, cands []string) string {
	best, bestD := "", 3
	for _, c := range cands {
		if d := levenshtein(v, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// Quote writes s as a TOML basic string: quotes and backslashes escaped,
// control characters as \u escapes.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
