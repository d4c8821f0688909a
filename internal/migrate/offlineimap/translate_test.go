package offlineimap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/migrate"
)

// readConfig writes src as an offlineimaprc in a temp home and reads it.
func readConfig(t *testing.T, src string) (*migrate.Result, string, error) {
	t.Helper()
	home := t.TempDir()
	path := filepath.Join(home, ".offlineimaprc")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Read(context.Background(), path, Options{Home: home})
	return res, home, err
}

// base is a minimal working config; cases append to its sections by
// replacing the markers.
const base = `[general]
accounts = work
metadata = ~/.oi
#GENERAL

[Account work]
localrepository = work-local
remoterepository = work-remote
#ACCOUNT

[Repository work-local]
type = Maildir
localfolders = ~/Mail/work
#LOCAL

[Repository work-remote]
type = IMAP
remotehost = imap.example.com
remoteuser = me@example.com
#REMOTE
`

// config fills the markers of base with settings (each in place of its
// marker line).
func config(general, acct, local, remote string) string {
	r := strings.NewReplacer("#GENERAL", general, "#ACCOUNT", acct, "#LOCAL", local, "#REMOTE", remote)
	return r.Replace(base)
}

// Marker lines in base: GENERAL 4, ACCOUNT 9, LOCAL 14, REMOTE 20 (when the
// earlier replacements are one line each).

func TestTranslate(t *testing.T) {
	res, home, err := readConfig(t, config("", "", "", "remotepasseval = \"s3cret\""))
	if err != nil {
		t.Fatal(err)
	}
	want := migrate.Config{
		IMAP:    []migrate.IMAP{{Name: "work", Host: "imap.example.com", TLS: "implicit", User: "me@example.com", Password: "s3cret"}},
		Maildir: []migrate.Maildir{{Name: "work", Path: filepath.Join(home, "Mail/work"), Layout: "flat", Separator: ".", Names: "mutf7"}},
		Channel: []migrate.Channel{{Name: "work", IMAP: "work", Maildir: "work", Folders: []string{"*"}, Create: "both", Remove: "none", Expunge: "both"}},
	}
	if fmt.Sprintf("%+v", res.Config) != fmt.Sprintf("%+v", want) {
		t.Errorf("config\n got %+v\nwant %+v", res.Config, want)
	}
	// The only note: no state yet.
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0].Text, "no OfflineIMAP state") || res.Notes[0].File != filepath.Join(home, ".oi", "Account-work", "LocalStatus-sqlite") {
		t.Errorf("notes: %v", res.Notes)
	}
}

func TestTranslateSettings(t *testing.T) {
	for _, c := range []struct {
		name                         string
		general, acct, local, remote string
		check                        func(t *testing.T, c migrate.Config)
	}{
		{name: "sep slash", local: "sep = /", check: func(t *testing.T, c migrate.Config) {
			if m := c.Maildir[0]; m.Layout != "verbatim" || m.Separator != "" {
				t.Errorf("%+v", m)
			}
		}},
		{name: "utf8foldernames", acct: "utf8foldernames = yes", check: func(t *testing.T, c migrate.Config) {
			if c.Maildir[0].Names != "utf8" {
				t.Errorf("%+v", c.Maildir[0])
			}
		}},
		{name: "starttls", remote: "ssl = no", check: func(t *testing.T, c migrate.Config) {
			if i := c.IMAP[0]; i.TLS != "starttls" || i.Port != 0 || i.AllowPlaintext {
				t.Errorf("%+v", i)
			}
		}},
		{name: "plaintext", remote: "ssl = no\nstarttls = no\nremoteport = 1143", check: func(t *testing.T, c migrate.Config) {
			if i := c.IMAP[0]; i.TLS != "none" || i.Port != 1143 || !i.AllowPlaintext {
				t.Errorf("%+v", i)
			}
		}},
		{name: "default ports dropped", remote: "remoteport = 993\nsslcacertfile = OS-DEFAULT", check: func(t *testing.T, c migrate.Config) {
			if i := c.IMAP[0]; i.Port != 0 || i.CAFile != "" {
				t.Errorf("%+v", i)
			}
		}},
		{name: "ca file", remote: "sslcacertfile = ~/ca.pem", check: func(t *testing.T, c migrate.Config) {
			if i := c.IMAP[0]; !strings.HasSuffix(i.CAFile, "/ca.pem") || !filepath.IsAbs(i.CAFile) {
				t.Errorf("%+v", i)
			}
		}},
		{name: "filters", local: "folderfilter = lambda f: f not in ['Archive.Old']", remote: "folderfilter = lambda f: f not in ['Junk', 'Entw&APw-rfe']\nfolderincludes = ['Junk']", check: func(t *testing.T, c migrate.Config) {
			if got := fmt.Sprint(c.Channel[0].Folders); got != "[* !Junk !Entwürfe !Archive/Old Junk]" {
				t.Errorf("folders %s", got)
			}
		}},
		{name: "include list", remote: "folderfilter = lambda f: f in ['INBOX', 'Sent', 'Drafts']", local: "folderfilter = lambda f: f != 'Drafts'", check: func(t *testing.T, c migrate.Config) {
			if got := fmt.Sprint(c.Channel[0].Folders); got != "[INBOX Sent]" {
				t.Errorf("folders %s", got)
			}
		}},
		{name: "identity nametrans", remote: "nametrans = lambda folder: folder\nfolderfilter = lambda f: True", check: func(t *testing.T, c migrate.Config) {
			if got := fmt.Sprint(c.Channel[0].Folders); got != "[*]" {
				t.Errorf("folders %s", got)
			}
		}},
		{name: "readonly remote", remote: "readonly = yes", check: func(t *testing.T, c migrate.Config) {
			if ch := c.Channel[0]; ch.Create != "maildir" || ch.Expunge != "maildir" {
				t.Errorf("%+v", ch)
			}
		}},
		{name: "createfolders and sync_deletes", local: "createfolders = false\nsync_deletes = no", check: func(t *testing.T, c migrate.Config) {
			if ch := c.Channel[0]; ch.Create != "imap" || ch.Expunge != "maildir" {
				t.Errorf("%+v", ch)
			}
		}},
		{name: "nothing created", local: "readonly = true", remote: "createfolders = off\nsync_deletes = off", check: func(t *testing.T, c migrate.Config) {
			if ch := c.Channel[0]; ch.Create != "none" || ch.Expunge != "imap" {
				t.Errorf("%+v", ch)
			}
		}},
		{name: "gmail", remote: "type = Gmail", check: func(t *testing.T, c migrate.Config) {
			if i := c.IMAP[0]; i.Host != "imap.example.com" || i.TLS != "implicit" {
				t.Errorf("%+v", i)
			}
		}},
		{name: "password command", remote: "remotepasseval = subprocess.check_output(['pass', 'show', 'work']).strip()", check: func(t *testing.T, c migrate.Config) {
			if i := c.IMAP[0]; i.PasswordCommand != "pass show work" || i.Password != "" {
				t.Errorf("%+v", i)
			}
		}},
		{name: "password over file", remote: "remotepass = direct\nremotepassfile = ~/pw", check: func(t *testing.T, c migrate.Config) {
			if i := c.IMAP[0]; i.Password != "direct" || i.PasswordCommand != "" {
				t.Errorf("%+v", i)
			}
		}},
		{name: "user command", remote: "remoteusereval = os.popen('whoami').read()", check: func(t *testing.T, c migrate.Config) {
			if i := c.IMAP[0]; i.UserCommand != "whoami" {
				t.Errorf("%+v", i)
			}
		}},
		{name: "interpolation", general: "[DEFAULT]\nhost = example.org", remote: "remotehost = imap.%(host)s", check: func(t *testing.T, c migrate.Config) {
			if i := c.IMAP[0]; i.Host != "imap.example.org" {
				t.Errorf("%+v", i)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := config(c.general, c.acct, c.local, c.remote)
			// A later key of the same name replaces base's (as a test
			// shortcut: configparser itself would refuse the repeat).
			src = dedupeKeys(src)
			res, _, err := readConfig(t, src)
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			c.check(t, res.Config)
		})
	}
}

// dedupeKeys comments out a key line when the same section sets the key
// again later (a test shortcut to override base; configparser itself would
// refuse the repeat). Line numbers do not change.
func dedupeKeys(src string) string {
	lines := strings.Split(src, "\n")
	last := map[string]int{} // section + key -> last line index
	sec := ""
	keyOf := func(l string) string {
		k, _, ok := strings.Cut(l, "=")
		if !ok || strings.HasPrefix(l, "[") || strings.HasPrefix(l, " ") {
			return ""
		}
		return sec + "\x00" + strings.TrimSpace(k)
	}
	for i, l := range lines {
		if strings.HasPrefix(l, "[") {
			sec = l
		}
		if k := keyOf(l); k != "" {
			last[k] = i
		}
	}
	sec = ""
	for i, l := range lines {
		if strings.HasPrefix(l, "[") {
			sec = l
		}
		if k := keyOf(l); k != "" && last[k] != i {
			lines[i] = "#"
		}
	}
	return strings.Join(lines, "\n")
}

func TestTranslateNotes(t *testing.T) {
	for _, c := range []struct {
		name                         string
		general, acct, local, remote string
		line                         int
		text                         string
	}{
		{name: "folderfilter", remote: "folderfilter = lambda f: re.search('^INBOX', f)", line: 20, text: "folderfilter = lambda f: re.search('^INBOX', f) cannot be translated: mdsync will sync every folder; edit folders = [...]"},
		{name: "multiline folderfilter", remote: "folderfilter = lambda f: f not in [\n    'A'] and f.startswith('B')", line: 20, text: "cannot be translated: mdsync will sync every folder"},
		{name: "local folderfilter", local: "folderfilter = lambda f: len(f) < 3", line: 14, text: "cannot be translated"},
		{name: "nametrans", remote: "nametrans = lambda f: re.sub('^INBOX\\.', '', f)", line: 20, text: "nametrans = lambda f: re.sub('^INBOX\\.', '', f) cannot be translated"},
		{name: "folderincludes", remote: "folderincludes = my_list()", line: 20, text: "folderincludes = my_list() cannot be translated"},
		{name: "autorefresh", acct: "autorefresh = 5", line: 9, text: "cron or a systemd timer"},
		{name: "quick", acct: "quick = 10", line: 9, text: "every mdsync run is quick"},
		{name: "presynchook", acct: "presynchook = notmuch new", line: 9, text: "ExecStartPre="},
		{name: "postsynchook", acct: "postsynchook = notmuch new", line: 9, text: "ExecStartPost="},
		{name: "maxage", acct: "maxage = 30", line: 9, text: "maxage is not carried over"},
		{name: "maxsize", acct: "maxsize = 2000000", line: 9, text: "maxsize is not carried over"},
		{name: "synclabels", acct: "synclabels = yes", line: 9, text: "Gmail labels"},
		{name: "unknown account key", acct: "colour = blue", line: 9, text: `unknown key "colour" in [Account work]`},
		{name: "unknown repository key", remote: "remotehots = x", line: 20, text: `unknown key "remotehots"`},
		{name: "unknown section", general: "[extra]\nk = v", line: 4, text: "section [extra] is not an OfflineIMAP section"},
		{name: "unlisted account", general: "[Account other]\nk = v", line: 4, text: "[Account other] is not in [general] accounts"},
		{name: "mbnames", general: "[mbnames]\nenabled = yes", line: 5, text: "[mbnames] is not carried over"},
		{name: "socktimeout", general: "socktimeout = 30", line: 4, text: "socktimeout is not carried over"},
		{name: "customflag", local: "customflag_a = $label1", line: 14, text: "customflag_a is not carried over"},
		{name: "gmail", remote: "type = Gmail", line: 16, text: "Gmail labels are not synced"},
		{name: "gmail maildir", local: "type = GmailMaildir", line: 11, text: "type = GmailMaildir"},
		{name: "passeval function", general: "pythonfile = ~/.offlineimap.py", remote: "remotepasseval = get_pass(\"work\")", line: 20, text: `remotepasseval = get_pass("work") calls Python (a function from pythonfile ~/.offlineimap.py?)`},
		{name: "passfile", remote: "remotepassfile = ~/.pw", line: 20, text: "remotepassfile = ~/.pw becomes a password_command"},
		{name: "no password", line: 16, text: "has no password"},
		{name: "starttls", remote: "ssl = no", line: 20, text: "mdsync requires STARTTLS and verifies the certificate"},
		{name: "starttls line", remote: "ssl = no\nstarttls = yes", line: 21, text: "mdsync requires STARTTLS"},
		{name: "plaintext", remote: "ssl = no\nstarttls = no", line: 20, text: "travel unencrypted to imap.example.com"},
		{name: "fingerprint", remote: "cert_fingerprint = 00ff", line: 20, text: "cert_fingerprint is not supported"},
		{name: "oauth", remote: "auth_mechanisms = XOAUTH2\noauth2_refresh_token = x", line: 21, text: "OAuth2 (XOAUTH2) is not supported"},
		{name: "auth mechanisms", remote: "auth_mechanisms = GSSAPI, CRAM-MD5", line: 20, text: "mdsync logs in with LOGIN"},
		{name: "readonly", remote: "readonly = yes", line: 20, text: "readonly on the IMAP side"},
		{name: "expunge", remote: "expunge = no", line: 20, text: "expunge = no"},
		{name: "subscribedonly", remote: "subscribedonly = yes", line: 20, text: "subscribedonly is not carried over"},
		{name: "tunnel", remote: "preauthtunnel = ssh host imapd", line: 20, text: "preauthtunnel is not carried over"},
		{name: "hosteval", remote: "remotehosteval = get_host()", line: 20, text: "remotehosteval = get_host() is Python"},
		{name: "decodefoldernames", remote: "decodefoldernames = yes", line: 20, text: "OfflineIMAP 8.0 fails with it"},
		{name: "windows", acct: "maildir-windows-compatible = yes", line: 9, text: "\"!2,\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := dedupeKeys(config(c.general, c.acct, c.local, c.remote))
			res, _, err := readConfig(t, src)
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			for _, n := range res.Notes {
				if n.Line == c.line && strings.Contains(n.Text, c.text) && strings.HasSuffix(n.File, ".offlineimaprc") {
					return
				}
			}
			t.Errorf("no note at line %d containing %q; notes:\n%s", c.line, c.text, notesString(res.Notes))
		})
	}
}

func notesString(notes []migrate.Note) string {
	var b strings.Builder
	for _, n := range notes {
		b.WriteString("  " + n.String() + "\n")
	}
	return b.String()
}

func TestTranslateErrors(t *testing.T) {
	for _, c := range []struct {
		name, src string
		line      int
		msg       string
	}{
		{"no general", "[Account a]\nlocalrepository = x\n", 0, "no [general] section"},
		{"no accounts", "[general]\nmetadata = /tmp\n", 1, "has no accounts"},
		{"missing account", "[general]\naccounts = a, b\n[Account a]\n", 2, `no [Account b] section`},
		{"empty account", "[general]\naccounts = a,\n", 2, "empty account"},
		{"no localrepository", "[general]\naccounts = a\n[Account a]\nremoterepository = r\n", 3, "has no localrepository"},
		{"missing repository", "[general]\naccounts = a\n[Account a]\nlocalrepository = l\nremoterepository = r\n[Repository l]\ntype = Maildir\nlocalfolders = /m\n", 5, "no [Repository r] section"},
		{"no type", "[general]\naccounts = a\n[Account a]\nlocalrepository = l\n[Repository l]\nlocalfolders = /m\n", 5, "has no type"},
		{"unknown type", dedupeKeys(config("", "", "type = MailDir", "")), 14, `type = "MailDir" is not an OfflineIMAP repository type`},
		{"maildir remote", dedupeKeys(config("", "", "", "type = Maildir")), 20, "cannot be a remote repository"},
		{"gmail local", dedupeKeys(config("", "", "type = Gmail", "")), 14, "cannot be a local repository"},
		{"no localfolders", strings.Replace(config("", "", "", ""), "localfolders = ~/Mail/work", "sep = /", 1), 11, "has no localfolders"},
		{"no remotehost", strings.Replace(config("", "", "", ""), "remotehost = imap.example.com", "remoteport = 993", 1), 16, "has no remotehost"},
		{"bad boolean", config("", "", "", "ssl = maybe"), 20, `ssl = "maybe" is not a boolean`},
		{"bad local boolean", config("", "", "readonly = sometimes", ""), 14, "is not a boolean"},
		{"bad port", config("", "", "", "remoteport = imaps"), 20, "is not a port number"},
		{"bad interpolation", config("", "", "", "remotepass = 100%"), 20, "must be followed by"},
		{"utf8 and decode", config("", "utf8foldernames = yes", "", "decodefoldernames = yes"), 20, "may not be used together"},
		{"parse error", config("", "", "", "this is not a key"), 20, "neither a [section] nor"},
		{"duplicate key", config("", "", "", "remotehost = other"), 20, "appears twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readConfig(t, c.src)
			var me *migrate.Error
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want *migrate.Error\n%s", err, c.src)
			}
			if me.Line != c.line || !strings.Contains(me.Msg, c.msg) || !strings.HasSuffix(me.File, ".offlineimaprc") {
				t.Errorf("got %v, want line %d with %q\n%s", me, c.line, c.msg, c.src)
			}
		})
	}
}

// TestIMAPToIMAP: OfflineIMAP can sync two IMAP servers; mdsync cannot, so
// the account is left out with a note (not an error).
func TestIMAPToIMAP(t *testing.T) {
	src := dedupeKeys(config("", "", "type = IMAP\nremotehost = other.example.com", ""))
	res, _, err := readConfig(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Config.Channel) != 0 || !hasNote(res.Notes, "syncs IMAP with IMAP") {
		t.Errorf("config %+v notes %v", res.Config, res.Notes)
	}
}

// TestAccountNames: names mdsync does not allow are changed (and noted),
// and stay unique.
func TestAccountNames(t *testing.T) {
	src := `[general]
accounts = My Mail, My-Mail, _x
[Account My Mail]
localrepository = l
remoterepository = r
[Account My-Mail]
localrepository = l
remoterepository = r
[Account _x]
localrepository = l
remoterepository = r
[Repository l]
type = Maildir
localfolders = /m
[Repository r]
type = IMAP
remotehost = h
remoteuser = u
remotepass = p
`
	res, _, err := readConfig(t, src)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range res.Config.Channel {
		names = append(names, c.Name)
	}
	if fmt.Sprint(names) != "[My-Mail My-Mail-2 a_x]" {
		t.Errorf("channels %v", names)
	}
	if !hasNote(res.Notes, `account "My Mail" is named "My-Mail"`) {
		t.Errorf("notes %v", res.Notes)
	}
}

// TestPassFileCommand: the password_command made from remotepassfile prints
// what OfflineIMAP reads: the first line, stripped.
func TestPassFileCommand(t *testing.T) {
	home := t.TempDir()
	pw := filepath.Join(home, "my pass's file")
	if err := os.WriteFile(pw, []byte("  s3cr3t \t\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := dedupeKeys(config("", "", "", "remotepassfile = "+pw))
	res, _, err := readConfig(t, src)
	if err != nil {
		t.Fatal(err)
	}
	cmd := res.Config.IMAP[0].PasswordCommand
	out, err := exec.Command("/bin/sh", "-c", cmd).Output()
	if err != nil || string(out) != "s3cr3t\n" {
		t.Errorf("%s: %q %v", cmd, out, err)
	}
}

func TestDefaultConfigPath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	if got := DefaultConfigPath(); got != filepath.Join(home, ".offlineimaprc") {
		t.Errorf("nothing there: %s", got)
	}
	xdg := filepath.Join(home, ".config", "offlineimap", "config")
	if err := os.MkdirAll(filepath.Dir(xdg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xdg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".offlineimaprc"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := DefaultConfigPath(); got != xdg {
		t.Errorf("both: %s, want the XDG one (OfflineIMAP's order)", got)
	}
}
