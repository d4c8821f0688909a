package mbsync

import (
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// The typed model of an mbsyncrc, with references resolved the way
// load_config resolves them: a store or account must be defined before
// (above) the section that names it, and the first definition of a name
// wins.

// account is an IMAPAccount, or the account an IMAPStore defines inline.
type account struct {
	Name string
	Sec  *section // the section holding its options
}

type imapStore struct {
	Name    string
	Sec     *section
	Account *account
}

type maildirStore struct {
	Name  string
	Sec   *section
	Path  string // expanded; "" when not set
	Inbox string // expanded; default ~/Maildir
	// SubFolders is "verbatim", "maildir++", "legacy" or "" (unset).
	SubFolders string
	Flatten    string
	InfoDelim  byte
	AltMap     bool
}

// storeRef is one side of a channel.
type storeRef struct {
	IMAP    *imapStore
	Maildir *maildirStore
	Box     string // the mailbox (or, with Patterns, the prefix) after ":store:"
	Line    int
}

func (s storeRef) name() string {
	if s.IMAP != nil {
		return s.IMAP.Name
	}
	return s.Maildir.Name
}

type channel struct {
	Name     string
	Sec      *section
	Far      storeRef
	Near     storeRef
	Patterns []string // in the order written; the last match wins
}

type group struct {
	Name     string
	Line     int
	Channels []string // as written, possibly with ":box,box"
}

type model struct {
	Accounts   []*account
	IMAPStores []*imapStore
	Maildirs   []*maildirStore
	Channels   []*channel
	Groups     []*group
	Globals    *section
	FieldDelim byte
	stores     []storeRef // every store, in definition order (one namespace)
}

// accountOptions are the keywords that make an IMAPStore define its own
// account.
var accountOptions = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range accountWords {
		m[w.Name] = true
	}
	return m
}()

// buildModel resolves the sections of rc. Paths are expanded with expand.
func buildModel(rc *rcFile, expand func(string) string) (*model, *lexError) {
	m := &model{Globals: rc.Globals, FieldDelim: ':'}
	if e := rc.Globals.last("FieldDelimiter"); e != nil {
		m.FieldDelim = e.Arg()[0]
	}
	for _, s := range rc.Sections {
		switch s.Kind {
		case kindAccount:
			if err := checkAccount(s, "IMAP account"); err != nil {
				return nil, err
			}
			m.Accounts = append(m.Accounts, &account{Name: s.Name, Sec: s})
		case kindIMAPStore:
			st := &imapStore{Name: s.Name, Sec: s}
			if e := s.last("Account"); e != nil {
				st.Account = m.account(e.Arg())
				if st.Account == nil {
					return nil, &lexError{e.Line, fmt.Sprintf("unknown IMAP account '%s'", e.Arg())}
				}
				for _, o := range s.Entries {
					if accountOptions[o.Key] {
						return nil, &lexError{o.Line, fmt.Sprintf("IMAP store '%s' has both Account and account-specific options (%s)", s.Name, o.Word)}
					}
				}
			} else {
				if err := checkAccount(s, "IMAP store"); err != nil {
					return nil, err
				}
				st.Account = &account{Name: s.Name, Sec: s}
			}
			m.IMAPStores = append(m.IMAPStores, st)
			m.stores = append(m.stores, storeRef{IMAP: st})
		case kindMaildirStore:
			st := &maildirStore{Name: s.Name, Sec: s, Inbox: expand("~/Maildir"), InfoDelim: m.FieldDelim}
			if e := s.last("Path"); e != nil {
				st.Path = expand(e.Arg())
			}
			if e := s.last("Inbox"); e != nil {
				st.Inbox = expand(e.Arg())
			}
			if e := s.last("SubFolders"); e != nil {
				st.SubFolders = strings.ToLower(e.Arg())
			}
			if e := s.last("Flatten"); e != nil {
				st.Flatten = e.Arg()
			}
			if e := s.last("InfoDelimiter"); e != nil {
				st.InfoDelim = e.Arg()[0]
			}
			if e := s.last("AltMap"); e != nil {
				st.AltMap = parseBool(e.Arg())
			}
			if st.SubFolders == "maildir++" && st.Path != "" {
				return nil, &lexError{s.last("Path").Line, fmt.Sprintf("Maildir store '%s': setting Path is incompatible with 'SubFolders Maildir++'", s.Name)}
			}
			m.Maildirs = append(m.Maildirs, st)
			m.stores = append(m.stores, storeRef{Maildir: st})
		case kindChannel:
			ch := &channel{Name: s.Name, Sec: s}
			for _, e := range s.Entries {
				switch e.Key {
				case "Far", "Master":
					ref, err := m.storeSpec(e)
					if err != nil {
						return nil, err
					}
					ch.Far = ref
				case "Near", "Slave":
					ref, err := m.storeSpec(e)
					if err != nil {
						return nil, err
					}
					ch.Near = ref
				case "Patterns":
					ch.Patterns = append(ch.Patterns, e.Args...)
				}
			}
			if ch.Far.Line == 0 {
				return nil, &lexError{s.Line, fmt.Sprintf("channel '%s' refers to no far side store", s.Name)}
			}
			if ch.Near.Line == 0 {
				return nil, &lexError{s.Line, fmt.Sprintf("channel '%s' refers to no near side store", s.Name)}
			}
			m.Channels = append(m.Channels, ch)
		case kindGroup:
			g := &group{Name: s.Name, Line: s.Line, Channels: append([]string(nil), s.Extra...)}
			for _, e := range s.all("Channels") {
				g.Channels = append(g.Channels, e.Args...)
			}
			m.Groups = append(m.Groups, g)
		}
	}
	return m, nil
}

// checkAccount applies imap_parse_store's checks to a section that defines
// an account.
func checkAccount(s *section, what string) *lexError {
	has := func(k string) bool { return s.last(k) != nil }
	if !has("Host") && !has("Tunnel") {
		return &lexError{s.Line, fmt.Sprintf("%s '%s' has neither Tunnel nor Host", what, s.Name)}
	}
	if has("User") && has("UserCmd") {
		return &lexError{s.last("UserCmd").Line, fmt.Sprintf("%s '%s' has both User and UserCmd", what, s.Name)}
	}
	if has("Pass") && has("PassCmd") {
		return &lexError{s.last("PassCmd").Line, fmt.Sprintf("%s '%s' has both Pass and PassCmd", what, s.Name)}
	}
	legacy := ""
	for _, k := range []string{"RequireSSL", "UseIMAPS", "UseTLSv1", "UseTLSv1.1", "UseTLSv1.2", "UseTLSv1.3"} {
		if has(k) {
			legacy = k
		}
	}
	if legacy != "" && (has("SSLType") || has("TLSType") || has("SSLVersions") || has("TLSVersions")) {
		return &lexError{s.last(legacy).Line, fmt.Sprintf("%s '%s': the deprecated UseSSL*, UseTLS*, UseIMAPS and RequireSSL options are mutually exclusive with SSLType and SSLVersions", what, s.Name)}
	}
	return nil
}

func (m *model) account(name string) *account {
	for _, a := range m.Accounts {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// storeSpec resolves ":store:[box]" against the stores defined so far.
func (m *model) storeSpec(e entry) (storeRef, *lexError) {
	spec := e.Arg()[1:]
	i := strings.IndexByte(spec, ':')
	name, box := spec[:i], spec[i+1:]
	ref := storeRef{Box: box, Line: e.Line}
	for _, st := range m.stores {
		if st.name() == name {
			ref.IMAP, ref.Maildir = st.IMAP, st.Maildir
			break
		}
	}
	if ref.IMAP == nil && ref.Maildir == nil {
		return ref, &lexError{e.Line, fmt.Sprintf("unknown store '%s'", name)}
	}
	return ref, nil
}

// expandPath is expand_strdup: "~" and "~/..." are home, "~user/..." is
// that user's home; a relative path is taken relative to base.
func expandPath(p, home, base string) string {
	if strings.HasPrefix(p, "~") {
		rest := p[1:]
		name, tail, _ := strings.Cut(rest, "/")
		dir := home
		if name != "" {
			u, err := user.Lookup(name)
			if err != nil {
				return p
			}
			dir = u.HomeDir
		}
		if tail == "" && !strings.Contains(rest, "/") {
			return dir
		}
		// Keep a trailing slash: a Path is a prefix, and "~/Mail/" differs
		// from "~/Mail" (see maildirStore.boxPath).
		return dir + "/" + tail
	}
	if p != "" && !filepath.IsAbs(p) && base != "" {
		return base + "/" + p
	}
	return p
}

func itoa(n int) string { return strconv.Itoa(n) }
