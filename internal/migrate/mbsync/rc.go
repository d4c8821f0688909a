package mbsync

import (
	"fmt"
	"strings"
)

// entry is one keyword line of a section, with its canonical keyword.
type entry struct {
	Key  string // canonical ("AuthMechs" for AuthMech)
	Word string // as written
	Args []string
	Line int
}

// Arg is the first argument.
func (e entry) Arg() string { return e.Args[0] }

// section is one section of the mbsyncrc, or the global options.
type section struct {
	Kind    sectionKind
	Name    string
	Line    int
	Extra   []string // further arguments of the section line (Group)
	Entries []entry
}

// last returns the last entry for key (mbsync lets a later line override
// an earlier one), or nil.
func (s *section) last(key string) *entry {
	for i := len(s.Entries) - 1; i >= 0; i-- {
		if s.Entries[i].Key == key {
			return &s.Entries[i]
		}
	}
	return nil
}

// all returns every entry for key, in order.
func (s *section) all(key string) []entry {
	var out []entry
	for _, e := range s.Entries {
		if e.Key == key {
			out = append(out, e)
		}
	}
	return out
}

// rcFile is a syntactically valid mbsyncrc.
type rcFile struct {
	Globals  *section
	Sections []*section
	// Evidence records the keywords only one version of mbsync knows.
	Evidence []evidence
}

// parseRC reads the section structure of an mbsyncrc the way load_config
// does, and checks every keyword and value. Like mbsync it refuses a file
// with an unknown keyword, a keyword that is not valid in its section, a
// missing or superfluous argument, an invalid value, or a global option
// after the first section. Sections end at a blank line: the next
// section-starting keyword without a blank line before it is, for mbsync,
// an unknown keyword of the current section, and so it is here.
func parseRC(text string) (*rcFile, *lexError) {
	lines, lerr := lex(text)
	if lerr != nil {
		return nil, lerr
	}
	rc := &rcFile{Globals: &section{Kind: kindGlobal}}
	var cur *section
	for _, l := range lines {
		if l.Key == "" { // blank line
			cur = nil
			continue
		}
		if cur == nil {
			if kind, ok := sectionWords[strings.ToLower(l.Key)]; ok {
				cur = &section{Kind: kind, Name: l.Args[0], Line: l.Num}
				if kind == kindGroup {
					cur.Extra = l.Args[1:]
				} else if len(l.Args) > 1 {
					return nil, &lexError{l.Num, fmt.Sprintf("excess token '%s'", l.Args[1])}
				}
				rc.Sections = append(rc.Sections, cur)
				continue
			}
			e, err := checkEntry(kindGlobal, l)
			if err != "" {
				return nil, &lexError{l.Num, err}
			}
			if len(rc.Sections) > 0 {
				return nil, &lexError{l.Num, fmt.Sprintf("global option '%s' may not follow sections", l.Key)}
			}
			rc.Globals.Entries = append(rc.Globals.Entries, e)
			rc.noteEvidence(kindGlobal, e)
			continue
		}
		e, err := checkEntry(cur.Kind, l)
		if err != "" {
			return nil, &lexError{l.Num, err}
		}
		cur.Entries = append(cur.Entries, e)
		rc.noteEvidence(cur.Kind, e)
	}
	return rc, nil
}

// checkEntry checks one keyword line of a section of kind.
func checkEntry(kind sectionKind, l line) (entry, string) {
	w, ok := lookupKeyword(kind, l.Key)
	if !ok {
		msg := fmt.Sprintf("keyword '%s' is not recognized in %s sections", l.Key, kind)
		if kind == kindGlobal {
			msg = fmt.Sprintf("'%s' is not a recognized section-starting or global keyword", l.Key)
		} else if _, isSection := sectionWords[strings.ToLower(l.Key)]; isSection {
			msg += " (a section ends only at a blank line)"
		}
		return entry{}, msg
	}
	if !w.Multi && len(l.Args) > 1 {
		return entry{}, fmt.Sprintf("excess token '%s'", l.Args[1])
	}
	if m := w.Check(l.Args); m != "" {
		return entry{}, fmt.Sprintf("%s: %s", l.Key, m)
	}
	return entry{Key: w.Name, Word: l.Key, Args: l.Args, Line: l.Num}, ""
}

// noteEvidence records keywords and Sync arguments that only one version
// of mbsync accepts.
func (rc *rcFile) noteEvidence(kind sectionKind, e entry) {
	w, _ := lookupKeyword(kind, e.Key)
	if w.Only != 0 {
		rc.Evidence = append(rc.Evidence, evidence{w.Only, e.Line, e.Word})
	}
	if e.Key == "Sync" {
		for _, a := range e.Args {
			if v := syncWords[strings.ToLower(a)]; v != 0 {
				rc.Evidence = append(rc.Evidence, evidence{v, e.Line, "Sync " + a})
			}
		}
	}
}
