package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFullExample(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	c, err := Load("testdata/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/home/u/.local/state/mdsync" {
		t.Errorf("state_dir = %q", c.StateDir)
	}
	im := c.IMAP["work"]
	if im.Host != "imap.example.com" || im.Port != 993 || im.TLS != "implicit" || im.MaxConnections != 4 || im.TimeoutDur != 60*time.Second {
		t.Errorf("imap = %+v", im)
	}
	if got := c.Maildir["work"].Path; got != "/home/u/Mail/work" {
		t.Errorf("maildir path = %q", got)
	}
	ch := c.Channel["work"]
	if ch.Create != "both" || ch.Expunge != "both" || ch.Remove != "none" || ch.MaxDeletePercent != 50 || ch.MaxDeleteCount != -1 {
		t.Errorf("channel = %+v", ch)
	}
	p := c.POP["isp"]
	if p.DeleteAfter != -1 || p.Folder != "INBOX" || p.Port != 995 {
		t.Errorf("pop = %+v", p)
	}
	chs, pops, err := c.Targets(nil)
	if err != nil || strings.Join(chs, ",") != "work" || strings.Join(pops, ",") != "isp" {
		t.Errorf("targets = %v %v %v", chs, pops, err)
	}
	if _, _, err := c.Targets([]string{"wrok"}); err == nil || !strings.Contains(err.Error(), `did you mean "work"`) {
		t.Errorf("unknown target error = %v", err)
	}
}

const base = `
[imap.work]
host = "imap.example.com"
user = "me"
password_env = "PW"

[maildir.work]
path = "/tmp/m"

[channel.work]
imap = "work"
maildir = "work"
`

func TestErrors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"unknown key", strings.Replace(base, `user = "me"`, "user = \"me\"\nfodlers = 1", 1), `x.toml:5: unknown key "imap.work.fodlers"`},
		{"did you mean", strings.Replace(base, `imap = "work"`, `imap = "work"`+"\nfolder = [\"*\"]", 1), `(did you mean "channel.work.folders"?)`},
		{"unknown maildir", strings.Replace(base, `maildir = "work"`, `maildir = "wrk"`, 1), `x.toml:12: channel.work: unknown maildir "wrk" (did you mean "work"?)`},
		{"unknown imap", strings.Replace(base, `imap = "work"`, `imap = "home"`, 1), `x.toml:11: channel.work: unknown imap "home"`},
		{"syntax", strings.Replace(base, `user = "me"`, `user = me`, 1), `x.toml:4:`},
		{"type", strings.Replace(base, `user = "me"`, "user = \"me\"\nport = \"993\"", 1), `x.toml:5:`},
		{"plaintext remote", strings.Replace(base, `user = "me"`, "user = \"me\"\ntls = \"none\"", 1), `x.toml:5: imap.work: tls = "none" toward imap.example.com would send the password in clear text`},
		{"bad tls", strings.Replace(base, `user = "me"`, "user = \"me\"\ntls = \"ssl\"", 1), `x.toml:5: imap.work: tls must be implicit, starttls or none`},
		{"no password", strings.Replace(base, `password_env = "PW"`, ``, 1), `x.toml:2: imap.work: no password`},
		{"two passwords", strings.Replace(base, `password_env = "PW"`, "password_env = \"PW\"\npassword = \"x\"", 1), `set only one of`},
		{"bad expunge", base + "expunge = \"all\"\n", `x.toml:13: channel.work: expunge must be one of`},
		{"bad max_delete", base + "max_delete = \"150%\"\n", `max_delete must be a percentage`},
		{"no accounts", "state_dir = \"/tmp\"\n", `no [imap.NAME] or [pop.NAME] account`},
		{"bad pop delete", base + "\n[pop.isp]\nhost = \"h\"\nuser = \"u\"\npassword_env = \"X\"\nmaildir = \"work\"\ndelete = \"sometimes\"\n", `x.toml:19: pop.isp: delete must be`},
		{"dup name", base + "\n[pop.work]\nhost = \"h\"\nuser = \"u\"\npassword_env = \"X\"\nmaildir = \"work\"\n", `pop.work: name "work" is also used by channel.work`},
		{"bad layout", strings.Replace(base, `path = "/tmp/m"`, "path = \"/tmp/m\"\nlayout = \"nested\"", 1), `x.toml:9: maildir.work: layout must be "verbatim", "maildir++" or "flat"`},
		{"bad names", strings.Replace(base, `path = "/tmp/m"`, "path = \"/tmp/m\"\nnames = \"latin1\"", 1), `x.toml:9: maildir.work: names must be "utf8" or "mutf7"`},
		{"unset var", strings.Replace(base, `path = "/tmp/m"`, `path = "$NO_SUCH_VAR_X/m"`, 1), `x.toml:8: maildir.work: environment variable $NO_SUCH_VAR_X is not set`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("/etc/x.toml", []byte(tc.text))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestLoopbackPlaintextAllowed(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost", "::1"} {
		text := strings.Replace(strings.Replace(base, "imap.example.com", host, 1), `user = "me"`, "user = \"me\"\ntls = \"none\"", 1)
		c, err := Parse("x.toml", []byte(text))
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if c.IMAP["work"].Port != 143 {
			t.Errorf("%s: port %d, want 143", host, c.IMAP["work"].Port)
		}
	}
	text := strings.Replace(base, `user = "me"`, "user = \"me\"\ntls = \"none\"\nallow_plaintext = true", 1)
	if _, err := Parse("x.toml", []byte(text)); err != nil {
		t.Fatalf("allow_plaintext: %v", err)
	}
}

func TestWorldReadableWarning(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	text := strings.Replace(base, `password_env = "PW"`, `password = "hunter2"`, 1)
	for _, tc := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o644, true}} {
		if err := os.WriteFile(p, []byte(text), tc.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, tc.mode)
		c, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(c.Warnings) > 0; got != tc.warn {
			t.Errorf("mode %o: warnings %v", tc.mode, c.Warnings)
		}
		for _, w := range c.Warnings {
			if strings.Contains(w, "hunter2") {
				t.Errorf("warning leaks the password: %s", w)
			}
		}
	}
}

func TestSecret(t *testing.T) {
	t.Setenv("MDSYNC_TEST_PW", "envpw")
	cases := []struct {
		s       Server
		want    string
		wantErr string
	}{
		{Server{Password: "plain"}, "plain", ""},
		{Server{PasswordEnv: "MDSYNC_TEST_PW"}, "envpw", ""},
		{Server{PasswordEnv: "MDSYNC_TEST_NOPE"}, "", "not set"},
		{Server{PasswordCommand: "printf 'cmdpw\\nsecond'"}, "cmdpw", ""},
		{Server{PasswordCommand: "exit 3"}, "", "password_command failed"},
		{Server{PasswordCommand: "true"}, "", "printed nothing"},
	}
	for _, tc := range cases {
		got, err := tc.s.Secret()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v: err %v, want %q", tc.s, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q %v", tc.s, got, err)
		}
	}
}

func TestParseAgeSize(t *testing.T) {
	if d, err := ParseAge("14d"); err != nil || d != 14*24*time.Hour {
		t.Error(d, err)
	}
	if n, err := ParseSize("10MB"); err != nil || n != 10_000_000 {
		t.Error(n, err)
	}
	if n, err := ParseSize("512k"); err != nil || n != 512*1024 {
		t.Error(n, err)
	}
	if _, err := ParseSize("lots"); err == nil {
		t.Error("no error for lots")
	}
}

// TestRelativePaths: relative paths are relative to the config file's
// directory, wherever mdsync is run from.
func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(t.TempDir())
	text := strings.Replace(base, `path = "/tmp/m"`, `path = "mail/work"`, 1) + "\nstate_dir = \"state\"\n"
	text = "state_dir = \"state\"\n" + strings.TrimSuffix(text, "\nstate_dir = \"state\"\n")
	c, err := Parse(filepath.Join(dir, "conf", "config.toml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "conf", "mail", "work"); c.Maildir["work"].Path != want {
		t.Errorf("path = %q, want %q", c.Maildir["work"].Path, want)
	}
	if want := filepath.Join(dir, "conf", "state"); c.StateDir != want {
		t.Errorf("state_dir = %q, want %q", c.StateDir, want)
	}
}

// TestPathsChecked: what sync would trip over is refused when the config
// is read, with its line.
func TestPathsChecked(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	cases := []struct{ name, text, want string }{
		{"maildir path is a file", strings.Replace(base, `path = "/tmp/m"`, `path = "`+file+`"`, 1), `x.toml:8: maildir.work: ` + file + ` is not a directory`},
		{"missing ca_file", strings.Replace(base, `user = "me"`, "user = \"me\"\nca_file = \"nope.pem\"", 1), `x.toml:5: imap.work: cannot read ca_file ` + filepath.Join(dir, "nope.pem") + `: no such file or directory`},
		{"ca_file not PEM", strings.Replace(base, `user = "me"`, "user = \"me\"\nca_file = \"file\"", 1), `x.toml:5: imap.work: ca_file ` + file + ` holds no PEM certificate`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(filepath.Join(dir, "x.toml"), []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestExampleConfig: the annotated example in contrib/ is a valid config,
// so it never rots.
func TestExampleConfig(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	c, err := Load(filepath.Join("..", "..", "contrib", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Channel) == 0 || len(c.IMAP) == 0 || len(c.Maildir) == 0 {
		t.Errorf("the example defines %d channels, %d imap accounts, %d maildirs", len(c.Channel), len(c.IMAP), len(c.Maildir))
	}
}

// TestQuote: TOML basic strings that read back as what was quoted.
func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/a b/Entwürfe`: `"/tmp/a b/Entwürfe"`,
		`/x"y\z`:            `"/x\"y\\z"`,
		"a\tb":              `"a\u0009b"`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
