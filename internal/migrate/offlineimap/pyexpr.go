package offlineimap

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// OfflineIMAP evaluates some options as Python (folderfilter, nametrans,
// folderincludes, remotepasseval, remoteusereval, ...). mdsync runs no
// Python, so this file recognises the few forms whose meaning is certain and
// reports everything else as untranslatable:
//
//   folderfilter:   lambda f: True          (also 1)
//                   lambda f: f in [...]    (a list, tuple or set of strings)
//                   lambda f: f not in [...]
//                   lambda f: f == '...'    / f != '...'
//   nametrans:      lambda f: f             (the identity)
//   folderincludes: [...]                   (strings)
//   *eval secrets:  '...'                   (a literal)
//                   subprocess.check_output([...strings...]) or
//                   subprocess.check_output('...', shell=True) or
//                   os.popen('...').read(), each optionally followed by
//                   .decode(...), .strip(...), .rstrip(...), .lstrip(...)
//                   (a command whose first output line is the secret)
//
// A call of anything else (a function from pythonfile, keyring, a regular
// expression) is not translated.

type tokKind int

const (
	tokName tokKind = iota
	tokNumber
	tokString
	tokPunct
)

type token struct {
	kind tokKind
	text string // names, numbers, punctuation; a string's decoded value
}

// tokenize splits a Python expression; ok is false on anything it does not
// understand (bytes or f-strings, unusual escapes, stray characters).
func tokenize(src string) ([]token, bool) {
	var out []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			if c == '\\' {
				i++
			}
			i++
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i
			for j < len(src) && (src[j] == '_' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= 'a' && src[j] <= 'z' || src[j] >= '0' && src[j] <= '9') {
				j++
			}
			word := src[i:j]
			if j < len(src) && (src[j] == '\'' || src[j] == '"') {
				raw := false
				switch strings.ToLower(word) {
				case "r":
					raw = true
				case "u":
				default:
					return nil, false // b'', f'', rb'' ...
				}
				s, n, ok := pyString(src[j:], raw)
				if !ok {
					return nil, false
				}
				out = append(out, token{tokString, s})
				i = j + n
				continue
			}
			out = append(out, token{tokName, word})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			out = append(out, token{tokNumber, src[i:j]})
			i = j
		case c == '\'' || c == '"':
			s, n, ok := pyString(src[i:], false)
			if !ok {
				return nil, false
			}
			out = append(out, token{tokString, s})
			i += n
		case strings.HasPrefix(src[i:], "==") || strings.HasPrefix(src[i:], "!="):
			out = append(out, token{tokPunct, src[i : i+2]})
			i += 2
		case strings.ContainsRune("()[]{},:.=", rune(c)):
			out = append(out, token{tokPunct, string(c)})
			i++
		default:
			return nil, false
		}
	}
	// Adjacent string literals are one string, as in Python.
	var merged []token
	for _, t := range out {
		if t.kind == tokString && len(merged) > 0 && merged[len(merged)-1].kind == tokString {
			merged[len(merged)-1].text += t.text
			continue
		}
		merged = append(merged, t)
	}
	return merged, true
}

// pyString decodes the string literal at the start of s and returns its
// value and length. Triple quotes are supported; of the escapes only the
// common ones (\\ \' \" \n \t \r \xHH \uHHHH \UHHHHHHHH, backslash-newline).
func pyString(s string, raw bool) (string, int, bool) {
	q := s[:1]
	if strings.HasPrefix(s, q+q+q) {
		q = q + q + q
	}
	var b strings.Builder
	i := len(q)
	for i < len(s) {
		if strings.HasPrefix(s[i:], q) {
			return b.String(), i + len(q), true
		}
		c := s[i]
		if c == '\n' && len(q) == 1 {
			return "", 0, false
		}
		if c != '\\' {
			r, n := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r)
			i += n
			continue
		}
		if i+1 >= len(s) {
			return "", 0, false
		}
		e := s[i+1]
		if raw {
			// A raw string keeps the backslash; \' does not end it.
			b.WriteByte('\\')
			b.WriteByte(e)
			i += 2
			continue
		}
		i += 2
		switch e {
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\n':
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n > len(s) {
				return "", 0, false
			}
			v, err := strconv.ParseUint(s[i:i+n], 16, 32)
			if err != nil || !utf8.ValidRune(rune(v)) {
				return "", 0, false
			}
			b.WriteRune(rune(v))
			i += n
		default:
			return "", 0, false
		}
	}
	return "", 0, false
}

// filterKind is what a translatable folderfilter does.
type filterKind int

const (
	filterAll   filterKind = iota // every folder
	filterIn                      // only the names
	filterNotIn                   // every folder but the names
)

// folderFilter is a translated folderfilter.
type folderFilter struct {
	kind  filterKind
	names []string
}

// parser walks a token list.
type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *parser) punct(s string) bool {
	if t, ok := p.peek(); ok && t.kind == tokPunct && t.text == s {
		p.pos++
		return true
	}
	return false
}

func (p *parser) name(s string) bool {
	if t, ok := p.peek(); ok && t.kind == tokName && (s == "" || t.text == s) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) ident() (string, bool) {
	if t, ok := p.peek(); ok && t.kind == tokName {
		p.pos++
		return t.text, true
	}
	return "", false
}

func (p *parser) str() (string, bool) {
	if t, ok := p.peek(); ok && t.kind == tokString {
		p.pos++
		return t.text, true
	}
	return "", false
}

func (p *parser) done() bool { return p.pos == len(p.toks) }

// strList reads [..], (..) or {..} of strings (a trailing comma allowed).
func (p *parser) strList() ([]string, bool) {
	closer := map[string]string{"[": "]", "(": ")", "{": "}"}
	t, ok := p.peek()
	if !ok || t.kind != tokPunct || closer[t.text] == "" {
		return nil, false
	}
	p.pos++
	end := closer[t.text]
	list := []string{}
	for {
		if p.punct(end) {
			return list, true
		}
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		list = append(list, s)
		if p.punct(",") {
			continue
		}
		if p.punct(end) {
			return list, true
		}
		return nil, false
	}
}

// lambdaHead reads "lambda NAME:" and returns NAME.
func (p *parser) lambdaHead() (string, bool) {
	if !p.name("lambda") {
		return "", false
	}
	arg, ok := p.ident()
	if !ok || !p.punct(":") {
		return "", false
	}
	return arg, true
}

// parseFolderFilter translates a folderfilter expression.
func parseFolderFilter(src string) (folderFilter, bool) {
	toks, ok := tokenize(src)
	if !ok {
		return folderFilter{}, false
	}
	p := &parser{toks: toks}
	arg, ok := p.lambdaHead()
	if !ok {
		return folderFilter{}, false
	}
	if p.name("True") || p.punct("1") {
		return folderFilter{kind: filterAll}, p.done()
	}
	if t, ok := p.peek(); ok && t.kind == tokNumber && t.text == "1" {
		p.pos++
		return folderFilter{kind: filterAll}, p.done()
	}
	if !p.name(arg) {
		return folderFilter{}, false
	}
	var f folderFilter
	switch {
	case p.name("in"):
		f.kind = filterIn
	case p.name("not"):
		if !p.name("in") {
			return folderFilter{}, false
		}
		f.kind = filterNotIn
	case p.punct("=="), p.punct("!="):
		f.kind = filterIn
		if p.toks[p.pos-1].text == "!=" {
			f.kind = filterNotIn
		}
		s, ok := p.str()
		if !ok {
			return folderFilter{}, false
		}
		f.names = []string{s}
		return f, p.done()
	default:
		return folderFilter{}, false
	}
	names, ok := p.strList()
	if !ok {
		return folderFilter{}, false
	}
	f.names = names
	return f, p.done()
}

// isIdentityLambda reports whether src is "lambda x: x".
func isIdentityLambda(src string) bool {
	toks, ok := tokenize(src)
	if !ok {
		return false
	}
	p := &parser{toks: toks}
	arg, ok := p.lambdaHead()
	return ok && p.name(arg) && p.done()
}

// parseStringList translates a literal list of strings (folderincludes).
func parseStringList(src string) ([]string, bool) {
	toks, ok := tokenize(src)
	if !ok {
		return nil, false
	}
	p := &parser{toks: toks}
	list, ok := p.strList()
	return list, ok && p.done()
}

// parseSecret translates a *eval expression: a literal, or a command whose
// first line of output is the value (already shell-quoted).
func parseSecret(src string) (literal, command string, ok bool) {
	toks, ok := tokenize(src)
	if !ok {
		return "", "", false
	}
	p := &parser{toks: toks}
	if s, ok := p.str(); ok && p.done() {
		return s, "", true
	}
	switch {
	case p.name("subprocess"):
		if !p.punct(".") || !p.name("check_output") || !p.punct("(") {
			return "", "", false
		}
		if args, ok := p.strList(); ok {
			if len(args) == 0 {
				return "", "", false
			}
			quoted := make([]string, len(args))
			for i, a := range args {
				quoted[i] = shellQuote(a)
			}
			command = strings.Join(quoted, " ")
		} else if s, ok := p.str(); ok {
			if !p.punct(",") || !p.name("shell") || !p.punct("=") || !p.name("True") {
				return "", "", false
			}
			command = s
		} else {
			return "", "", false
		}
		if !p.punct(")") {
			return "", "", false
		}
	case p.name("os"):
		if !p.punct(".") || !p.name("popen") || !p.punct("(") {
			return "", "", false
		}
		s, ok := p.str()
		if !ok || !p.punct(")") || !p.punct(".") || !p.name("read") || !p.punct("(") || !p.punct(")") {
			return "", "", false
		}
		command = s
	default:
		return "", "", false
	}
	// Trailing .decode() / .strip() calls do not change the first line
	// mdsync takes from the command's output (beyond what it trims).
	for !p.done() {
		if !p.punct(".") {
			return "", "", false
		}
		m, ok := p.ident()
		if !ok || (m != "decode" && m != "strip" && m != "rstrip" && m != "lstrip") || !p.punct("(") {
			return "", "", false
		}
		p.str()
		if !p.punct(")") {
			return "", "", false
		}
	}
	return "", command, true
}

// shellQuote quotes s for /bin/sh when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
