// Package config reads and validates mdsync's TOML configuration.
//
// Every error names the file and line it comes from ("config.toml:12:
// channel.work: unknown maildir \"wrk\""), unknown keys are errors with a
// "did you mean" suggestion, and defaults are filled in so that the rest of
// the program never has to guess.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/mdsync/mdsync/internal/mailnet"
)

// Config is a whole validated configuration.
type Config struct {
	File     string              `toml:"-"`
	StateDir string              `toml:"state_dir"`
	IMAP     map[string]*IMAP    `toml:"imap"`
	Maildir  map[string]*Maildir `toml:"maildir"`
	Channel  map[string]*Channel `toml:"channel"`
	POP      map[string]*POP     `toml:"pop"`
	Warnings []string            `toml:"-"`
	lines    map[string]int
}

// Server holds what IMAP and POP accounts share: where and how to log in.
type Server struct {
	Host            string `toml:"host"`
	Port            int    `toml:"port"`
	TLS             string `toml:"tls"` // implicit | starttls | none
	User            string `toml:"user"`
	Password        string `toml:"password"`
	PasswordCommand string `toml:"password_command"`
	PasswordEnv     string `toml:"password_env"`
	AllowPlaintext  bool   `toml:"allow_plaintext"`
	CAFile          string `toml:"ca_file"`
	Timeout         string `toml:"timeout"` // per network operation, default 60s
	// OAuth2 sign-in: a built-in login (mdsync login NAME) or a helper
	// command that prints an access token
	OAuth2       *OAuth2 `toml:"oauth2"`
	TokenCommand string  `toml:"token_command"`

	TimeoutDur time.Duration `toml:"-"`
}

// OAuth2 is how an account signs in with OAuth2 (oauth2 = { ... }).
type OAuth2 struct {
	Provider            string   `toml:"provider"` // google | microsoft | custom
	ClientID            string   `toml:"client_id"`
	ClientSecret        string   `toml:"client_secret"`
	ClientSecretCommand string   `toml:"client_secret_command"`
	Tenant              string   `toml:"tenant"` // microsoft; default "common"
	Scopes              []string `toml:"scopes"` // default: the provider's mail scopes
	AuthURL             string   `toml:"auth_url"`
	TokenURL            string   `toml:"token_url"`
	DeviceAuthURL       string   `toml:"device_auth_url"`
	Flow                string   `toml:"flow"` // loopback | device; default: the provider's
}

// IMAP is an [imap.NAME] account.
type IMAP struct {
	Server
	MaxConnections int    `toml:"max_connections"`
	Auth           string `toml:"auth"` // auto (default) | login | plain | xoauth2 | oauthbearer
	// Prefix overrides the personal namespace's prefix the server reports
	// (NAMESPACE): "INBOX." on Courier, "" to use none.
	Prefix *string `toml:"prefix"`
	Name   string  `toml:"-"`
}

// Maildir is a [maildir.NAME] local tree.
type Maildir struct {
	Path   string `toml:"path"`
	Layout string `toml:"layout"` // verbatim (default) | maildir++ | flat
	Names  string `toml:"names"`  // utf8 (default) | mutf7: how non-ASCII folder names are spelled on disk
	Name   string `toml:"-"`
}

// Hooks are commands run around a channel's or POP account's sync, with
// sh -c: pre_sync before it, post_sync after it (the messages that arrived
// as JSON on its stdin), new_mail after it when something arrived.
type Hooks struct {
	PreSync     string `toml:"pre_sync"`
	PostSync    string `toml:"post_sync"`
	NewMail     string `toml:"new_mail"`
	HookTimeout string `toml:"hook_timeout"` // default 60s

	HookTimeoutDur time.Duration `toml:"-"`
}

// validateHooks fills in the hook timeout.
func (c *Config) validateHooks(sec string, h *Hooks) error {
	h.HookTimeoutDur = 60 * time.Second
	if h.HookTimeout != "" {
		d, err := time.ParseDuration(h.HookTimeout)
		if err != nil || d <= 0 {
			return c.errAt(sec+".hook_timeout", "hook_timeout must be a duration such as \"60s\", not %q", h.HookTimeout)
		}
		h.HookTimeoutDur = d
	}
	return nil
}

// Channel is a [channel.NAME] pairing an IMAP account with a Maildir tree.
type Channel struct {
	Hooks
	Polling
	// Watch names the folders mdsync watch keeps an IDLE connection on
	// (default INBOX); the others are polled (watch.go).
	Watch     []string `toml:"watch"`
	IMAP      string   `toml:"imap"`
	Maildir   string   `toml:"maildir"`
	Folders   []string `toml:"folders"`
	Create    string   `toml:"create"`     // both (default) | imap | maildir | none
	Remove    string   `toml:"remove"`     // none (default) | imap | maildir | both
	Expunge   string   `toml:"expunge"`    // both (default) | imap | maildir | none
	MaxDelete string   `toml:"max_delete"` // "50%" (default) or a count
	Name      string   `toml:"-"`

	// MaxDeletePercent / MaxDeleteCount: exactly one is used (count when >= 0).
	MaxDeletePercent int `toml:"-"`
	MaxDeleteCount   int `toml:"-"`
}

// POP is a [pop.NAME] account fetched one way into a Maildir folder.
type POP struct {
	Server
	Hooks
	Polling
	Maildir     string `toml:"maildir"`
	Folder      string `toml:"folder"`
	Delete      string `toml:"delete"` // never | after-fetch | after:14d
	MaxSize     string `toml:"max_size"`
	MaxMessages int    `toml:"max_messages"`
	Auth        string `toml:"auth"` // auto (default) | user | apop | plain | xoauth2 | oauthbearer
	Name        string `toml:"-"`

	// DeleteAfter is the age after which fetched messages are deleted:
	// -1 never, 0 right after the fetch.
	DeleteAfter time.Duration `toml:"-"`
	MaxSizeB    int64         `toml:"-"`
}

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

// DefaultPath returns the config path from MDSYNC_CONFIG or XDG.
func DefaultPath() string {
	if p := os.Getenv("MDSYNC_CONFIG"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "mdsync", "config.toml")
}

// Load reads, decodes and validates the file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read config: %v", errors.Unwrap(err))}
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o044 != 0 {
		for _, n := range sortedKeys(c.IMAP) {
			if c.IMAP[n].Password != "" {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s is readable by others (mode %04o) and holds a password (imap.%s); chmod 600 it or use password_command", filepath.Base(path), fi.Mode().Perm(), n))
			}
		}
		for _, n := range sortedKeys(c.POP) {
			if c.POP[n].Password != "" {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s is readable by others (mode %04o) and holds a password (pop.%s); chmod 600 it or use password_command", filepath.Base(path), fi.Mode().Perm(), n))
			}
		}
	}
	return c, nil
}

// Parse decodes and validates config text; path is used for messages and
// to resolve relative paths.
func Parse(path string, data []byte) (*Config, error) {
	c := &Config{File: path}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, decodeError(path, err)
	}
	c.lines = keyLines(data)
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]*$`)

func (c *Config) validate() error {
	if len(c.IMAP)+len(c.POP) == 0 {
		return &Error{File: c.File, Msg: "no [imap.NAME] or [pop.NAME] account configured"}
	}
	var err error
	if c.StateDir == "" {
		c.StateDir = filepath.Join(xdgState(), "mdsync")
	}
	if c.StateDir, err = c.expandPath(c.StateDir); err != nil {
		return c.errAt("state_dir", "%v", err)
	}
	seen := map[string]string{}
	checkName := func(kind, n string) error {
		if !nameRe.MatchString(n) {
			return c.errAt(kind+"."+n, "bad name %q (use letters, digits, '-', '_', '.')", n)
		}
		if kind == "channel" || kind == "pop" {
			if other, dup := seen[n]; dup {
				return c.errAt(kind+"."+n, "name %q is also used by %s.%s; channel and pop names must differ", n, other, n)
			}
			seen[n] = kind
		}
		return nil
	}
	for _, n := range sortedKeys(c.Maildir) {
		m := c.Maildir[n]
		if err := checkName("maildir", n); err != nil {
			return err
		}
		m.Name = n
		if m.Path == "" {
			return c.errAt("maildir."+n, "path is required")
		}
		if m.Path, err = c.expandPath(m.Path); err != nil {
			return c.errAt("maildir."+n+".path", "%v", err)
		}
		if fi, err := os.Stat(m.Path); err == nil && !fi.IsDir() {
			return c.errAt("maildir."+n+".path", "%s is not a directory", m.Path)
		}
		switch strings.ToLower(m.Layout) {
		case "", "verbatim":
			m.Layout = "verbatim"
		case "maildir++", "maildirpp":
			m.Layout = "maildir++"
		case "flat":
			m.Layout = "flat"
		default:
			return c.errAt("maildir."+n+".layout", "layout must be \"verbatim\", \"maildir++\" or \"flat\", not %q", m.Layout)
		}
		switch strings.ToLower(m.Names) {
		case "", "utf8", "utf-8":
			m.Names = "utf8"
		case "mutf7", "utf7", "imap":
			m.Names = "mutf7"
		default:
			return c.errAt("maildir."+n+".names", "names must be \"utf8\" or \"mutf7\" (IMAP modified UTF-7, as mbsync 1.4 and OfflineIMAP write them), not %q", m.Names)
		}
	}
	for _, n := range sortedKeys(c.IMAP) {
		a := c.IMAP[n]
		if err := checkName("imap", n); err != nil {
			return err
		}
		a.Name = n
		if err := c.validateServer("imap."+n, &a.Server, 993, 143); err != nil {
			return err
		}
		if a.MaxConnections == 0 {
			a.MaxConnections = 4
		}
		if a.MaxConnections < 1 || a.MaxConnections > 32 {
			return c.errAt("imap."+n+".max_connections", "max_connections must be between 1 and 32")
		}
		oauth := a.OAuth2 != nil || a.TokenCommand != ""
		switch a.Auth {
		case "":
			a.Auth = "auto"
		case "auto", "xoauth2", "oauthbearer":
		case "login", "plain":
			if oauth {
				return c.errAt("imap."+n+".auth", "an OAuth2 account logs in with auth = \"xoauth2\" or \"oauthbearer\" (or \"auto\"), not %q", a.Auth)
			}
		default:
			return c.errAt("imap."+n+".auth", "auth must be auto, login, plain, xoauth2 or oauthbearer; not %q", a.Auth)
		}
		if (a.Auth == "xoauth2" || a.Auth == "oauthbearer") && !oauth {
			return c.errAt("imap."+n+".auth", "auth = %q needs oauth2 = { ... } or token_command", a.Auth)
		}
	}
	for _, n := range sortedKeys(c.Channel) {
		ch := c.Channel[n]
		if err := checkName("channel", n); err != nil {
			return err
		}
		ch.Name = n
		if ch.IMAP == "" {
			return c.errAt("channel."+n, "imap is required (the name of an [imap.NAME] section)")
		}
		if _, ok := c.IMAP[ch.IMAP]; !ok {
			return c.errAt("channel."+n+".imap", "unknown imap %q%s", ch.IMAP, didYouMean(ch.IMAP, sortedKeys(c.IMAP)))
		}
		if ch.Maildir == "" {
			return c.errAt("channel."+n, "maildir is required (the name of a [maildir.NAME] section)")
		}
		if _, ok := c.Maildir[ch.Maildir]; !ok {
			return c.errAt("channel."+n+".maildir", "unknown maildir %q%s", ch.Maildir, didYouMean(ch.Maildir, sortedKeys(c.Maildir)))
		}
		if len(ch.Folders) == 0 {
			ch.Folders = []string{"*"}
		}
		for _, p := range ch.Folders {
			if strings.TrimPrefix(p, "!") == "" {
				return c.errAt("channel."+n+".folders", "empty folder pattern")
			}
		}
		for key, v := range map[string]*string{"create": &ch.Create, "remove": &ch.Remove, "expunge": &ch.Expunge} {
			def := "both"
			if key == "remove" {
				def = "none"
			}
			if *v == "" {
				*v = def
			}
			switch *v {
			case "both", "imap", "maildir", "none":
			default:
				return c.errAt("channel."+n+"."+key, "%s must be one of both, imap, maildir, none; not %q", key, *v)
			}
		}
		if err := c.validateHooks("channel."+n, &ch.Hooks); err != nil {
			return err
		}
		if err := c.validatePolling("channel."+n, &ch.Polling); err != nil {
			return err
		}
		if err := c.validateWatch("channel."+n, ch); err != nil {
			return err
		}
		ch.MaxDeleteCount = -1
		switch md := strings.TrimSpace(ch.MaxDelete); {
		case md == "":
			ch.MaxDeletePercent = 50
		case strings.HasSuffix(md, "%"):
			p, err := strconv.Atoi(strings.TrimSuffix(md, "%"))
			if err != nil || p < 0 || p > 100 {
				return c.errAt("channel."+n+".max_delete", "max_delete must be a percentage 0-100%% or a count, not %q", md)
			}
			ch.MaxDeletePercent = p
		default:
			k, err := strconv.Atoi(md)
			if err != nil || k < 0 {
				return c.errAt("channel."+n+".max_delete", "max_delete must be a percentage 0-100%% or a count, not %q", md)
			}
			ch.MaxDeleteCount = k
		}
	}
	for _, n := range sortedKeys(c.POP) {
		p := c.POP[n]
		if err := checkName("pop", n); err != nil {
			return err
		}
		p.Name = n
		if err := c.validateServer("pop."+n, &p.Server, 995, 110); err != nil {
			return err
		}
		if err := c.validateHooks("pop."+n, &p.Hooks); err != nil {
			return err
		}
		if err := c.validatePolling("pop."+n, &p.Polling); err != nil {
			return err
		}
		if p.Maildir == "" {
			return c.errAt("pop."+n, "maildir is required (the name of a [maildir.NAME] section)")
		}
		if _, ok := c.Maildir[p.Maildir]; !ok {
			return c.errAt("pop."+n+".maildir", "unknown maildir %q%s", p.Maildir, didYouMean(p.Maildir, sortedKeys(c.Maildir)))
		}
		if p.Folder == "" {
			p.Folder = "INBOX"
		}
		switch d := p.Delete; {
		case d == "" || d == "never":
			p.Delete, p.DeleteAfter = "never", -1
		case d == "after-fetch":
			p.DeleteAfter = 0
		case strings.HasPrefix(d, "after:"):
			dur, err := ParseAge(strings.TrimPrefix(d, "after:"))
			if err != nil {
				return c.errAt("pop."+n+".delete", "delete: %v", err)
			}
			p.DeleteAfter = dur
		default:
			return c.errAt("pop."+n+".delete", "delete must be \"never\", \"after-fetch\" or \"after:14d\", not %q", d)
		}
		if p.MaxSize != "" {
			sz, err := ParseSize(p.MaxSize)
			if err != nil {
				return c.errAt("pop."+n+".max_size", "max_size: %v", err)
			}
			p.MaxSizeB = sz
		}
		if p.MaxMessages < 0 {
			return c.errAt("pop."+n+".max_messages", "max_messages must be >= 0")
		}
		if p.OAuth2 != nil || p.TokenCommand != "" {
			switch p.Auth {
			case "", "auto", "xoauth2", "oauthbearer":
			default:
				return c.errAt("pop."+n+".auth", "an OAuth2 account logs in with auth = \"xoauth2\" or \"oauthbearer\" (or \"auto\"), not %q", p.Auth)
			}
		}
		switch p.Auth {
		case "":
			p.Auth = "auto"
		case "auto", "user", "apop", "plain", "xoauth2", "oauthbearer":
		default:
			return c.errAt("pop."+n+".auth", "auth must be auto, user, apop, plain, xoauth2 or oauthbearer; not %q", p.Auth)
		}
	}
	return nil
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

func (c *Config) validateServer(sec string, s *Server, tlsPort, plainPort int) error {
	if s.Host == "" {
		return c.errAt(sec, "host is required")
	}
	if s.User == "" {
		return c.errAt(sec, "user is required")
	}
	switch s.TLS {
	case "":
		s.TLS = "implicit"
	case "implicit", "starttls", "none":
	default:
		return c.errAt(sec+".tls", "tls must be implicit, starttls or none; not %q", s.TLS)
	}
	if s.Port == 0 {
		s.Port = plainPort
		if s.TLS == "implicit" {
			s.Port = tlsPort
		}
	}
	if s.Port < 1 || s.Port > 65535 {
		return c.errAt(sec+".port", "port %d out of range", s.Port)
	}
	if s.TLS == "none" && !mailnet.PlaintextAllowed(s.Host, s.AllowPlaintext) {
		return c.errAt(sec+".tls", "tls = \"none\" toward %s would send the password in clear text; use tls = \"implicit\" or \"starttls\", or set allow_plaintext = true", s.Host)
	}
	n := 0
	for _, v := range []string{s.Password, s.PasswordCommand, s.PasswordEnv} {
		if v != "" {
			n++
		}
	}
	oauth := s.OAuth2 != nil || s.TokenCommand != ""
	switch {
	case s.OAuth2 != nil && s.TokenCommand != "":
		return c.errAt(sec+".token_command", "set only one of oauth2 and token_command")
	case oauth && n > 0:
		return c.errAt(sec, "an OAuth2 account (oauth2 or token_command) takes no password; remove password, password_command or password_env")
	case n == 0 && !oauth:
		return c.errAt(sec, "no password: set password_command (recommended), password_env or password, or oauth2 / token_command to sign in with OAuth2")
	case n > 1:
		return c.errAt(sec, "set only one of password, password_command, password_env")
	}
	if s.OAuth2 != nil {
		if err := c.validateOAuth2(sec, s.OAuth2); err != nil {
			return err
		}
	}
	if s.CAFile != "" {
		var err error
		if s.CAFile, err = c.expandPath(s.CAFile); err != nil {
			return c.errAt(sec+".ca_file", "%v", err)
		}
		// checked here, not at the first connection: check and sync
		// reject the same configs, and the error has a line
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return c.errAt(sec+".ca_file", "cannot read ca_file %s: %v", s.CAFile, errors.Unwrap(err))
		}
		if !bytes.Contains(pem, []byte("-----BEGIN CERTIFICATE-----")) {
			return c.errAt(sec+".ca_file", "ca_file %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", s.CAFile)
		}
	}
	s.TimeoutDur = 60 * time.Second
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil || d <= 0 {
			return c.errAt(sec+".timeout", "timeout must be a duration such as \"60s\", not %q", s.Timeout)
		}
		s.TimeoutDur = d
	}
	return nil
}

// validateOAuth2 fills in a provider's defaults and checks what it needs.
func (c *Config) validateOAuth2(sec string, o *OAuth2) error {
	key := sec + ".oauth2"
	o.Provider = strings.ToLower(o.Provider)
	switch o.Provider {
	case "google", "microsoft":
		if o.ClientID == "" {
			return c.errAt(key, "oauth2: client_id is required: register your own OAuth2 client (see the README, Gmail / Microsoft 365)")
		}
	case "custom":
		if o.ClientID == "" || o.TokenURL == "" || (o.AuthURL == "" && o.DeviceAuthURL == "") {
			return c.errAt(key, "oauth2: provider = \"custom\" needs client_id, token_url, and auth_url or device_auth_url")
		}
	case "":
		return c.errAt(key, "oauth2: provider is required: \"google\", \"microsoft\" or \"custom\"")
	default:
		return c.errAt(key, "oauth2: provider must be \"google\", \"microsoft\" or \"custom\", not %q", o.Provider)
	}
	if o.ClientSecret != "" && o.ClientSecretCommand != "" {
		return c.errAt(key, "oauth2: set only one of client_secret and client_secret_command")
	}
	switch o.Flow {
	case "", "loopback", "device":
	default:
		return c.errAt(key, "oauth2: flow must be \"loopback\" or \"device\", not %q", o.Flow)
	}
	if o.Provider == "google" && o.Flow == "device" {
		return c.errAt(key, "oauth2: Google does not allow Gmail scopes in the device flow; use flow = \"loopback\"")
	}
	return nil
}

// expandPath is ExpandPath for a path of the config: a relative path is
// relative to the config file's directory (as in mbsync 1.5), never to
// the directory mdsync happens to be run from (cron's is $HOME, a shell's
// anything).
func (c *Config) expandPath(p string) (string, error) {
	base := "."
	if c.File != "" {
		base = filepath.Dir(c.File)
	}
	return ExpandPathFrom(p, base)
}

// ExpandPathFrom expands ~ and $VARS and makes the path absolute, relative
// to base.
func ExpandPathFrom(p, base string) (string, error) {
	var missing []string
	p = os.Expand(p, func(v string) string {
		val, ok := os.LookupEnv(v)
		if !ok {
			missing = append(missing, v)
		}
		return val
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable $%s is not set", missing[0])
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("expand ~: %w", err)
		}
		p = filepath.Join(home, p[1:])
	}
	if p == "" {
		return "", errors.New("empty path")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return filepath.Abs(p)
}

func xdgState() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "state")
}

// ParseAge parses "14d", "12h", "30m", or any time.ParseDuration form.
func ParseAge(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad age %q (use e.g. 14d)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad age %q (use e.g. 14d)", s)
	}
	return d, nil
}

// ParseSize parses "10MB", "512k", "1000".
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suf)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (use e.g. 10MB)", s)
	}
	return n * mult, nil
}

// Secret resolves the password of a server section. It never logs it.
func (s *Server) Secret() (string, error) {
	switch {
	case s.PasswordCommand != "":
		cmd := exec.Command("/bin/sh", "-c", s.PasswordCommand)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			msg := strings.TrimSpace(stderr.String())
			if len(msg) > 200 {
				msg = msg[:200]
			}
			return "", fmt.Errorf("password_command failed: %v %s", err, msg)
		}
		pw, _, _ := strings.Cut(string(out), "\n")
		pw = strings.TrimRight(pw, "\r")
		if pw == "" {
			return "", errors.New("password_command printed nothing")
		}
		return pw, nil
	case s.PasswordEnv != "":
		pw, ok := os.LookupEnv(s.PasswordEnv)
		if !ok || pw == "" {
			return "", fmt.Errorf("password_env: $%s is not set", s.PasswordEnv)
		}
		return pw, nil
	default:
		return s.Password, nil
	}
}

// Addr returns host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Targets returns the channel and POP names to run for the given args
// (all when none), or an error naming an unknown one.
func (c *Config) Targets(names []string) (channels []string, pops []string, err error) {
	if len(names) == 0 {
		return sortedKeys(c.Channel), sortedKeys(c.POP), nil
	}
	for _, n := range names {
		switch {
		case c.Channel[n] != nil:
			channels = append(channels, n)
		case c.POP[n] != nil:
			pops = append(pops, n)
		default:
			all := append(sortedKeys(c.Channel), sortedKeys(c.POP)...)
			return nil, nil, fmt.Errorf("no channel or pop account named %q%s", n, didYouMean(n, all))
		}
	}
	return channels, pops, nil
}
