package offlineimap

import (
	"fmt"
	"testing"
)

func TestParseFolderFilter(t *testing.T) {
	for _, c := range []struct {
		src  string
		ok   bool
		kind filterKind
		want string
	}{
		{"lambda f: True", true, filterAll, "[]"},
		{"lambda folder: 1", true, filterAll, "[]"},
		{"lambda f: f in ['INBOX', 'Sent']", true, filterIn, "[INBOX Sent]"},
		{"lambda foldername: foldername in [\n 'INBOX',\n \"[Gmail]/Sent Mail\",\n]", true, filterIn, "[INBOX [Gmail]/Sent Mail]"},
		{"lambda folder: folder not in ['Trash', 'Spam']", true, filterNotIn, "[Trash Spam]"},
		{"lambda f: f not in ('Trash',)", true, filterNotIn, "[Trash]"},
		{"lambda f: f in {'A'}", true, filterIn, "[A]"},
		{"lambda f: f == 'INBOX'", true, filterIn, "[INBOX]"},
		{"lambda f: f != 'Junk'", true, filterNotIn, "[Junk]"},
		{`lambda f: f in ['It\'s', r'C:\x', u'Entw\u00fcrfe', 'a' 'b']`, true, filterIn, `[It's C:\x Entwürfe ab]`},
		{"lambda f: g in ['A']", false, 0, ""},
		{"lambda f: re.search('^INBOX', f)", false, 0, ""},
		{"lambda f: f.startswith('INBOX')", false, 0, ""},
		{"lambda f: f in ['A'] or f == 'B'", false, 0, ""},
		{"lambda f: f in [b'A']", false, 0, ""},
		{"lambda f: f in my_list", false, 0, ""},
		{"lambda f: f in ['A'", false, 0, ""},
		{"allowed", false, 0, ""},
	} {
		f, ok := parseFolderFilter(c.src)
		if ok != c.ok {
			t.Errorf("%q: ok = %v", c.src, ok)
			continue
		}
		if ok && (f.kind != c.kind || fmt.Sprint(f.names) != c.want) {
			t.Errorf("%q: %v %v, want %v %s", c.src, f.kind, f.names, c.kind, c.want)
		}
	}
}

func TestIsIdentityLambda(t *testing.T) {
	for src, want := range map[string]bool{
		"lambda f: f":                       true,
		"lambda folder : folder":            true,
		"lambda f: g":                       false,
		"lambda f: f.replace('.', '/')":     false,
		"lambda f: re.sub('^INBOX', '', f)": false,
	} {
		if got := isIdentityLambda(src); got != want {
			t.Errorf("%q: %v", src, got)
		}
	}
}

func TestParseSecret(t *testing.T) {
	for _, c := range []struct {
		src, lit, cmd string
		ok            bool
	}{
		{`"s3cret"`, "s3cret", "", true},
		{`'it''s'`, "its", "", true},
		{`subprocess.check_output(["pass", "show", "mail/work"]).strip()`, "", "pass show mail/work", true},
		{`subprocess.check_output(['gpg', '-dq', '~/my pw.gpg']).decode('utf-8').rstrip('\n')`, "", "gpg -dq '~/my pw.gpg'", true},
		{`subprocess.check_output("pass show x | head -1", shell=True)`, "", "pass show x | head -1", true},
		{`os.popen("pass show x").read().strip()`, "", "pass show x", true},
		{`get_pass("work")`, "", "", false},
		{`keyring.get_password("imap", "me")`, "", "", false},
		{`subprocess.check_output(cmd)`, "", "", false},
		{`subprocess.check_output("x")`, "", "", false},
		{`"a" + "b"`, "", "", false},
	} {
		lit, cmd, ok := parseSecret(c.src)
		if ok != c.ok || lit != c.lit || cmd != c.cmd {
			t.Errorf("%s: %q %q %v, want %q %q %v", c.src, lit, cmd, ok, c.lit, c.cmd, c.ok)
		}
	}
}
