package mbsync

import (
	"fmt"
	"strings"
)

// line is one non-comment line of an mbsyncrc: a keyword and its
// arguments, or a blank line (Key == "") that ends a section.
type line struct {
	Num  int
	Key  string   // as written
	Args []string // at least one when Key != ""
}

// lexError is a syntax error at a line.
type lexError struct {
	Line int
	Msg  string
}

// lex splits an mbsyncrc into lines the way mbsync's getcline and get_arg
// do (config.c):
//
//   - A line whose first token starts with '#' is a comment and is skipped
//     entirely: it does not end a section. A '#' at the start of a later
//     token ends the line; inside a token it is an ordinary character.
//   - A line with only white space is blank and ends the current section.
//   - Tokens are separated by white space. A double quote toggles quoting
//     anywhere inside a token (Pass "a b"c is "a bc"), and a backslash
//     makes the next character literal.
//   - A keyword needs at least one argument ("parameter missing").
func lex(text string) ([]line, *lexError) {
	var out []line
	for i, raw := range strings.Split(text, "\n") {
		num := i + 1
		rest := raw
		key, comment, err := nextToken(&rest)
		if err != "" {
			return nil, &lexError{num, err}
		}
		if key == nil {
			if comment {
				continue
			}
			out = append(out, line{Num: num})
			continue
		}
		l := line{Num: num, Key: *key}
		for {
			arg, _, err := nextToken(&rest)
			if err != "" {
				return nil, &lexError{num, err}
			}
			if arg == nil {
				break
			}
			l.Args = append(l.Args, *arg)
		}
		if len(l.Args) == 0 {
			return nil, &lexError{num, fmt.Sprintf("%s: parameter missing", l.Key)}
		}
		out = append(out, l)
	}
	return out, nil
}

// isSpace is C's isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// nextToken reads one token from *rest (get_arg). It returns nil at the end
// of the line or at a '#' that starts a token (comment is then true).
func nextToken(rest *string) (tok *string, comment bool, err string) {
	s := *rest
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i == len(s) || s[i] == '#' {
		*rest = ""
		return nil, i < len(s), ""
	}
	var b strings.Builder
	escaped, quoted := false, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped && c >= 32:
			escaped = false
			b.WriteByte(c)
		case c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && isSpace(c):
			*rest = s[i+1:]
			goto done
		default:
			b.WriteByte(c)
		}
	}
	*rest = ""
done:
	if escaped {
		return nil, false, "unterminated escape sequence"
	}
	if quoted {
		return nil, false, "missing closing quote"
	}
	t := b.String()
	return &t, false, ""
}
