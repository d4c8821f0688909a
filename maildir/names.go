package maildir

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/mdsync/mdsync/internal/mutf7"
)

// maxComponent is the longest directory name most Linux file systems accept
// (NAME_MAX).
const maxComponent = 255

const hexDigits = "0123456789ABCDEF"

// needsEscape reports whether the ASCII byte c at the start of a level
// (first) or inside it must be percent-encoded. pp is true for the Maildir++
// layout, where '.' separates levels on disk.
func needsEscape(c byte, first, pp bool) bool {
	switch {
	case c < 0x20, c == 0x7f, c == '%', c == '/', c == '\\':
		return true
	case c == '.':
		return first || pp
	case c == '~':
		return first
	}
	return false
}

// escapeLevel encodes one level of a folder name as one directory-name
// component (or one dot-separated part of a Maildir++ name). The encoding is
// injective, and decodeLevel is its exact inverse.
func escapeLevel(level string, pp bool) (string, error) {
	if level == "" {
		return "", errors.New("empty level")
	}
	var b strings.Builder
	b.Grow(len(level))
	pct := func(c byte) { b.WriteByte('%'); b.WriteByte(hexDigits[c>>4]); b.WriteByte(hexDigits[c&15]) }
	for i := 0; i < len(level); {
		r, size := utf8.DecodeRuneInString(level[i:])
		switch {
		case r == utf8.RuneError && size <= 1: // invalid UTF-8 byte
			pct(level[i])
		case size == 1 && needsEscape(level[i], i == 0, pp):
			pct(level[i])
		case i == 0 && !pp && (level == "cur" || level == "new" || level == "tmp"):
			// Would collide with the maildir sub-directories of the parent.
			pct(level[i])
		default:
			b.WriteString(level[i : i+size])
		}
		i += size
	}
	return b.String(), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false // lower-case hex is not canonical
}

// decodeLevel is the inverse of escapeLevel. It rejects every component that
// escapeLevel would not have produced (bad or superfluous escapes, unescaped
// unsafe characters), so that the mapping stays a bijection.
func decodeLevel(comp string, pp bool) (string, error) {
	if comp == "" {
		return "", errors.New("empty level")
	}
	var b strings.Builder
	b.Grow(len(comp))
	for i := 0; i < len(comp); i++ {
		c := comp[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(comp) {
			return "", fmt.Errorf("truncated escape in %q", comp)
		}
		hi, ok1 := unhex(comp[i+1])
		lo, ok2 := unhex(comp[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("bad escape in %q", comp)
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	level := b.String()
	if again, err := escapeLevel(level, pp); err != nil || again != comp {
		return "", fmt.Errorf("non-canonical name %q", comp)
	}
	return level, nil
}

// splitName splits an IMAP folder name into levels. delim 0 means the server
// has no hierarchy (NIL delimiter): the whole name is one level. A first
// level of INBOX (in any case) is recognised before splitting, even if the
// delimiter is one of its letters, and is always spelled "INBOX".
func splitName(name string, delim rune) ([]string, error) {
	if name == "" {
		return nil, errors.New("empty folder name")
	}
	if err := checkDelim(delim); err != nil {
		return nil, err
	}
	var levels []string
	rest := name
	if len(name) >= 5 && strings.EqualFold(name[:5], "INBOX") {
		if len(name) == 5 {
			return []string{"INBOX"}, nil
		}
		if delim != 0 && strings.HasPrefix(name[5:], string(delim)) {
			levels = append(levels, "INBOX")
			rest = name[5+len(string(delim)):]
		}
	}
	if delim == 0 {
		levels = append(levels, rest)
	} else {
		levels = append(levels, strings.Split(rest, string(delim))...)
	}
	for _, l := range levels {
		if l == "" {
			return nil, fmt.Errorf("folder name %q has an empty level", name)
		}
	}
	return levels, nil
}

// checkDelim accepts 0 (no hierarchy) and any valid Unicode code point.
func checkDelim(delim rune) error {
	if delim != 0 && !utf8.ValidRune(delim) {
		return fmt.Errorf("invalid hierarchy delimiter %q", delim)
	}
	return nil
}

func joinName(levels []string, delim rune) string {
	if delim == 0 {
		return levels[0]
	}
	return strings.Join(levels, string(delim))
}

// naming is how a store spells folder names on disk: its layout, and
// whether levels are spelled in UTF-8 or in IMAP modified UTF-7.
type naming struct {
	layout Layout
	mutf7  bool
}

// dotted reports whether '.' separates levels on disk, so that a '.' inside
// a level must be escaped.
func (n naming) dotted() bool { return n.layout == MaildirPP || n.layout == Flat }

// level spells one level of a name as (part of) a directory name.
func (n naming) level(l string) (string, error) {
	if n.mutf7 {
		var err error
		if l, err = mutf7.Encode(l); err != nil {
			return "", err
		}
	}
	return escapeLevel(l, n.dotted())
}

// unlevel is the exact inverse of level.
func (n naming) unlevel(c string) (string, error) {
	l, err := decodeLevel(c, n.dotted())
	if err != nil || !n.mutf7 {
		return l, err
	}
	return mutf7.Decode(l)
}

// relPath maps a folder name to a clean path relative to the root. The result
// is "." (only for INBOX in the Maildir++ layout) or a path of components
// none of which is empty, ".", ".." or contains a separator.
func (n naming) relPath(name string, delim rune) (string, error) {
	levels, err := splitName(name, delim)
	if err != nil {
		return "", err
	}
	comps := make([]string, len(levels))
	for i, l := range levels {
		if i == 0 && l == "INBOX" {
			comps[i] = l
			continue
		}
		if comps[i], err = n.level(l); err != nil {
			return "", fmt.Errorf("folder name %q: %w", name, err)
		}
	}
	var rel string
	switch n.layout {
	case Verbatim:
		for _, c := range comps {
			if len(c) > maxComponent {
				return "", fmt.Errorf("folder name %q: level too long", name)
			}
		}
		rel = filepath.Join(comps...)
	case MaildirPP:
		if len(comps) == 1 && comps[0] == "INBOX" {
			return ".", nil
		}
		rel = "." + strings.Join(comps, ".")
		if len(rel) > maxComponent {
			return "", fmt.Errorf("folder name %q: too long", name)
		}
	case Flat:
		rel = strings.Join(comps, ".")
		if len(rel) > maxComponent {
			return "", fmt.Errorf("folder name %q: too long", name)
		}
	default:
		return "", fmt.Errorf("unknown layout %d", n.layout)
	}
	return rel, nil
}

// relName is the inverse of relPath. rel must be clean and relative.
func (n naming) relName(rel string, delim rune) (string, error) {
	if err := checkDelim(delim); err != nil {
		return "", err
	}
	var levels []string
	decodeAll := func(comps []string) error {
		for i, c := range comps {
			if i == 0 && c == "INBOX" {
				levels = append(levels, c)
				continue
			}
			l, err := n.unlevel(c)
			if err != nil {
				return err
			}
			levels = append(levels, l)
		}
		return nil
	}
	switch n.layout {
	case Verbatim:
		if rel == "." {
			return "", errors.New("the root is not a folder in the verbatim layout")
		}
		if err := decodeAll(strings.Split(rel, string(filepath.Separator))); err != nil {
			return "", err
		}
	case MaildirPP:
		if rel == "." {
			return "INBOX", nil
		}
		if strings.ContainsRune(rel, filepath.Separator) || !strings.HasPrefix(rel, ".") {
			return "", fmt.Errorf("%q is not a Maildir++ folder", rel)
		}
		if err := decodeAll(strings.Split(rel[1:], ".")); err != nil {
			return "", err
		}
	case Flat:
		if rel == "." || strings.ContainsRune(rel, filepath.Separator) {
			return "", fmt.Errorf("%q is not a folder of the flat layout", rel)
		}
		if err := decodeAll(strings.Split(rel, ".")); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("unknown layout %d", n.layout)
	}
	if delim == 0 && len(levels) > 1 {
		return "", fmt.Errorf("%q is nested but the hierarchy delimiter is NIL", rel)
	}
	name := joinName(levels, delim)
	// Belt and braces: the name must map back to exactly this path (this
	// also rejects levels that contain the delimiter, and "inbox" spelled in
	// another case).
	if again, err := n.relPath(name, delim); err != nil || again != rel {
		return "", fmt.Errorf("%q is not a canonical folder path", rel)
	}
	return name, nil
}
