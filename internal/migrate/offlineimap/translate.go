package offlineimap

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/mdsync/mdsync/internal/migrate"
)

// This file turns the parsed OfflineIMAP config into mdsync's. Rules:
//
//   - Every account named in [general] accounts becomes one channel with an
//     [imap] and a [maildir] section, all three named after the account
//     (characters mdsync does not allow in names become "-"). Accounts not
//     in that list are what OfflineIMAP does not sync either: left out, with
//     a note.
//   - A file OfflineIMAP itself refuses (no [general] accounts, an account
//     or repository section that is missing, a repository without or with an
//     unknown or misplaced type, a Maildir without localfolders, an IMAP
//     repository without a host, a value that is not a boolean or number
//     where one is needed, a broken %(...)s) is a *migrate.Error at its line.
//   - Every setting mdsync cannot honour exactly becomes a note at its line,
//     saying what mdsync will do instead. Keys OfflineIMAP does not know are
//     noted too (OfflineIMAP ignores them). Settings that change nothing for
//     the mail (ui, fsync, foldersort, ...) are accepted silently.

// account is what the state reader needs of one translated account.
type account struct {
	name       string // OfflineIMAP's account name
	channel    string // the mdsync channel (and imap and maildir) name
	metadata   string // OfflineIMAP's metadata directory
	remoteRepo string // the remote repository's name
	localRoot  string
	sep        string // the local repository's sep
	utf8Names  bool   // local folder names are UTF-8, not modified UTF-7
	// fvMUTF7 is set when the local names are UTF-8 but the FolderValidity
	// files are named after the raw (modified UTF-7) server names
	// (decodefoldernames).
	fvMUTF7 bool
	infosep string // ":" or, with maildir-windows-compatible, "!"
	// adopt is false when the local folder names cannot be mapped to the
	// server's (a nametrans that was not translated).
	adopt bool
	// filter selects the folders OfflineIMAP synced; nil when unknown.
	filter *folderFilter
}

type translator struct {
	f          *iniFile
	home       string
	notes      []migrate.Note
	cfg        migrate.Config
	accts      []*account
	names      map[string]bool
	checked    map[*iniSection]bool // sections whose keys were checked
	pythonfile string
}

func (t *translator) note(line int, format string, args ...any) {
	t.notes = append(t.notes, migrate.Note{File: t.f.path, Line: line, Text: fmt.Sprintf(format, args...)})
}

func (t *translator) errAt(line int, format string, args ...any) error {
	return &migrate.Error{File: t.f.path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// getBool reads a boolean with a default.
func (t *translator) getBool(s *iniSection, key string, def bool) (bool, int, error) {
	v, line, ok, err := s.get(key)
	if err != nil || !ok {
		return def, line, err
	}
	b, valid := parseBool(v)
	if !valid {
		return def, line, t.errAt(line, "[%s] %s = %q is not a boolean (yes/no, true/false, on/off, 1/0)", s.name, key, v)
	}
	return b, line, nil
}

// run translates the whole file.
func (t *translator) run() error {
	general := t.f.byName["general"]
	if general == nil {
		return t.errAt(0, "no [general] section (OfflineIMAP needs [general] accounts = ...)")
	}
	t.checkKeys(general, generalKeys)
	list, listLine, ok, err := general.get("accounts")
	if err != nil {
		return err
	}
	if !ok {
		return t.errAt(general.line, "[general] has no accounts = ... (OfflineIMAP needs it)")
	}
	meta, _, ok, err := general.get("metadata")
	if err != nil {
		return err
	}
	if !ok {
		meta = "~/.offlineimap"
	}
	metadata := t.abs(expandVars(t.expandUser(meta)))
	if pf, _, ok, err := general.get("pythonfile"); err != nil {
		return err
	} else if ok {
		t.pythonfile = pf
	}

	var names []string
	seen := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			return t.errAt(listLine, "[general] accounts = %q names an empty account", list)
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, s := range t.f.sections {
		switch {
		case s.name == "general":
		case s.name == "mbnames":
			t.checkKeys(s, mbnamesKeys)
			if on, line, err := t.getBool(s, "enabled", false); err != nil {
				return err
			} else if on {
				t.note(line, "[mbnames] is not carried over: mdsync does not write a mailboxes file for mutt; list the folders with e.g. `find PATH -name cur -printf '%%h\\n'`")
			}
		case strings.HasPrefix(s.name, "Account "):
			if n := strings.TrimLeft(strings.TrimPrefix(s.name, "Account "), " \t"); !seen[n] {
				t.note(s.line, "[%s] is not in [general] accounts: OfflineIMAP does not sync it, and it is not imported", s.name)
			}
		case strings.HasPrefix(s.name, "Repository "):
		default:
			t.note(s.line, "section [%s] is not an OfflineIMAP section: ignored", s.name)
		}
	}
	for _, n := range names { // OfflineIMAP checks them all first
		if t.accountSection(n) == nil {
			return t.errAt(listLine, "[general] accounts names %q, but there is no [Account %s] section", n, n)
		}
	}
	for _, n := range names {
		if err := t.account(n, t.accountSection(n), metadata); err != nil {
			return err
		}
	}
	return nil
}

// accountSection finds [Account name] (OfflineIMAP strips the blanks
// after "Account ").
func (t *translator) accountSection(name string) *iniSection {
	for _, s := range t.f.sections {
		if n, ok := strings.CutPrefix(s.name, "Account "); ok && strings.TrimLeft(n, " \t") == name {
			return s
		}
	}
	return nil
}

// repoTypes are the repository types OfflineIMAP has, by role.
var (
	remoteTypes = map[string]bool{"IMAP": true, "Gmail": true}
	localTypes  = map[string]bool{"Maildir": true, "GmailMaildir": true, "IMAP": true}
)

// repository finds the repository an account names in key and checks its
// type for the role.
func (t *translator) repository(acct *iniSection, key string, remote bool) (*iniSection, string, error) {
	name, line, ok, err := acct.get(key)
	if err != nil {
		return nil, "", err
	}
	if !ok || strings.TrimSpace(name) == "" {
		return nil, "", t.errAt(acct.line, "[%s] has no %s", acct.name, key)
	}
	name = strings.TrimSpace(name)
	sec := t.f.byName["Repository "+name]
	if sec == nil {
		return nil, "", t.errAt(line, "%s = %s, but there is no [Repository %s] section", key, name, name)
	}
	typ, tline, ok, err := sec.get("type")
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", t.errAt(sec.line, "[%s] has no type (Maildir, GmailMaildir, IMAP or Gmail)", sec.name)
	}
	typ = strings.TrimSpace(typ)
	role, types := "local", localTypes
	if remote {
		role, types = "remote", remoteTypes
	}
	if !localTypes[typ] && !remoteTypes[typ] {
		return nil, "", t.errAt(tline, "type = %q is not an OfflineIMAP repository type (Maildir, GmailMaildir, IMAP, Gmail)", typ)
	}
	if !types[typ] {
		return nil, "", t.errAt(tline, "type = %s cannot be a %s repository (%s = %s; OfflineIMAP: \"Repository type %s not supported\")", typ, role, key, name, typ)
	}
	return sec, typ, nil
}

// account translates one account.
func (t *translator) account(name string, sec *iniSection, metadata string) error {
	t.checkKeys(sec, accountKeys)
	local, ltype, err := t.repository(sec, "localrepository", false)
	if err != nil {
		return err
	}
	remote, rtype, err := t.repository(sec, "remoterepository", true)
	if err != nil {
		return err
	}
	if ltype == "IMAP" {
		t.note(local.line, "account %s syncs IMAP with IMAP (local type = IMAP): mdsync syncs IMAP with a Maildir only; the account is not imported", name)
		return nil
	}
	t.checkKeys(local, repoKeys, maildirKeys)
	t.checkKeys(remote, repoKeys, imapKeys)

	utf8Names, u8line, err := t.getBool(sec, "utf8foldernames", false)
	if err != nil {
		return err
	}
	decode, dline, err := t.getBool(remote, "decodefoldernames", false)
	if err != nil {
		return err
	}
	if utf8Names && decode {
		return t.errAt(dline, "decodefoldernames and utf8foldernames (line %d) may not be used together (OfflineIMAP refuses to sync account %s)", u8line, name)
	}
	if decode {
		t.note(dline, "decodefoldernames: OfflineIMAP 8.0 fails with it ('str' object has no attribute 'decode'); the local folder names are read as UTF-8")
	}
	win, wline, err := t.getBool(sec, "maildir-windows-compatible", false)
	if err != nil {
		return err
	}
	a := &account{
		name: name, metadata: metadata, remoteRepo: strings.TrimPrefix(remote.name, "Repository "),
		utf8Names: utf8Names || decode, fvMUTF7: decode, infosep: ":", adopt: true,
	}
	if win {
		a.infosep = "!"
		t.note(wline, "maildir-windows-compatible: the existing files are named with \"!2,\" instead of \":2,\"; check that mdsync's Maildir reads them before the first run")
	}
	a.channel = t.uniqueName(name, sec.line)

	im, err := t.imap(remote, rtype, a.channel)
	if err != nil {
		return err
	}
	md, err := t.maildir(local, ltype, a)
	if err != nil {
		return err
	}
	ch := migrate.Channel{Name: a.channel, IMAP: a.channel, Maildir: a.channel, Remove: "none"}
	if err := t.sides(&ch, local, remote); err != nil {
		return err
	}
	if err := t.folders(&ch, a, local, remote); err != nil {
		return err
	}
	t.cfg.IMAP = append(t.cfg.IMAP, im)
	t.cfg.Maildir = append(t.cfg.Maildir, md)
	t.cfg.Channel = append(t.cfg.Channel, ch)
	t.accts = append(t.accts, a)
	return nil
}

var badNameChars = regexp.MustCompile(`[^A-Za-z0-9_.\-]+`)

// uniqueName makes an mdsync section name (^[A-Za-z0-9][A-Za-z0-9_.-]*$)
// from an account name, unique among the accounts.
func (t *translator) uniqueName(name string, line int) string {
	n := badNameChars.ReplaceAllString(name, "-")
	if n == "" || !isAlnum(n[0]) {
		n = "a" + n
	}
	base := n
	for i := 2; t.names[n]; i++ {
		n = fmt.Sprintf("%s-%d", base, i)
	}
	t.names[n] = true
	if n != name {
		t.note(line, "account %q is named %q in mdsync (mdsync names use letters, digits, \"_\", \".\" and \"-\")", name, n)
	}
	return n
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// maildir translates the local repository.
func (t *translator) maildir(s *iniSection, typ string, a *account) (migrate.Maildir, error) {
	md := migrate.Maildir{Name: a.channel, Names: "mutf7"}
	if a.utf8Names {
		md.Names = "utf8"
	}
	if typ == "GmailMaildir" {
		t.note(s.line, "type = GmailMaildir: Gmail labels are not synced by mdsync; the Maildir is synced as an ordinary one")
	}
	root, _, ok, err := s.get("localfolders")
	if err != nil {
		return md, err
	}
	if !ok || strings.TrimSpace(root) == "" {
		return md, t.errAt(s.line, "[%s] has no localfolders", s.name)
	}
	md.Path = t.abs(expandVars(t.expandUser(strings.TrimSpace(root))))
	a.localRoot = md.Path
	sep, line, ok, err := s.get("sep")
	if err != nil {
		return md, err
	}
	if !ok {
		sep = "."
	}
	sep = strings.TrimSpace(sep)
	if sep == "" {
		return md, t.errAt(line, "[%s] sep is empty", s.name)
	}
	a.sep = sep
	if sep == "/" {
		md.Layout = "verbatim"
	} else {
		md.Layout, md.Separator = "flat", sep
	}
	return md, nil
}

// sortNotes orders notes by file and line, keeping the order of equal ones.
func sortNotes(n []migrate.Note) {
	sort.SliceStable(n, func(i, j int) bool {
		if n[i].File != n[j].File {
			return n[i].File < n[j].File
		}
		return n[i].Line < n[j].Line
	})
}
