package config

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

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
