package mbsync

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/migrate"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// render prints a Result in a stable, readable form, with home as "~".
func render(res *migrate.Result, home, rcPath string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	for _, s := range res.Config.IMAP {
		p("[imap.%s] host=%q port=%d tls=%q user=%q user_command=%q password=%q password_command=%q ca_file=%q allow_plaintext=%v",
			s.Name, s.Host, s.Port, s.TLS, s.User, s.UserCommand, s.Password, s.PasswordCommand, s.CAFile, s.AllowPlaintext)
	}
	for _, s := range res.Config.Maildir {
		p("[maildir.%s] path=%q layout=%q separator=%q names=%q", s.Name, s.Path, s.Layout, s.Separator, s.Names)
	}
	for _, s := range res.Config.Channel {
		p("[channel.%s] imap=%q maildir=%q folders=%q create=%q remove=%q expunge=%q", s.Name, s.IMAP, s.Maildir, s.Folders, s.Create, s.Remove, s.Expunge)
	}
	for _, f := range res.Folders {
		p("folder %s %q uidvalidity=%d pairs=%d", f.Channel, f.Name, f.UIDValidity, len(f.Pairs))
		for _, pr := range f.Pairs {
			p("  %d %s %q", pr.UID, pr.Key, pr.Flags)
		}
	}
	for _, n := range res.Notes {
		n.File = strings.Replace(n.File, rcPath, "RC", 1)
		p("note %s", n)
	}
	return strings.ReplaceAll(b.String(), home, "~")
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestTranslateFull(t *testing.T) {
	home := t.TempDir()
	rc, err := os.ReadFile(filepath.Join("testdata", "full.mbsyncrc"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, ".mbsyncrc")
	if err := os.WriteFile(path, rc, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Read(t.Context(), path, Options{Home: home, StateHome: filepath.Join(home, "state"), Version: "1.4"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "full.golden", render(res, home, path))
}

// TestNotes checks single options: the note's line and what it says.
func TestNotes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string // appended to the channel section
		acct  string // appended to the account section
		text  string
	}{
		{"MaxMessages", "MaxMessages 100\n", "", "MaxMessages 100: mdsync syncs every message; the local folders will grow to the server's size"},
		{"CopyArrivalDate", "CopyArrivalDate yes\n", "", "CopyArrivalDate yes: mdsync always gives downloaded files the server's arrival date"},
		{"Sync Pull", "Sync Pull\n", "", "Sync Pull: mbsync propagated from the local side to the server no new messages, deletions or flag changes"},
		{"Sync PullNew Push", "Sync PullNew Push\n", "", "from the server to the local side no deletions or flag changes"},
		{"Expunge None", "Expunge None\n", "", `Expunge None becomes expunge = "none"`},
		{"Expunge Near", "Expunge Near\n", "", `Expunge Near becomes expunge = "maildir"`},
		{"MaxSize", "MaxSize 1m\n", "", "MaxSize 1m: mdsync copies every message whole"},
		{"UserCmd", "", "UserCmd \"+pass user\"\nPass p\n", "UserCmd +pass user: mdsync has no user_command"},
		{"PassCmd +", "", "PassCmd +askpass\n", "the '+' (the command talks to the terminal"},
		{"no password", "", "User me\n", "has no Pass or PassCmd: mbsync asks for the password at every run"},
		{"XOAUTH2", "", "AuthMechs XOAUTH2\nPass p\n", "mdsync logs in only with LOGIN or PLAIN"},
		{"SystemCertificates", "", "SystemCertificates no\nPass p\n", "SystemCertificates no"},
		{"CertificateFile", "", "CertificateFile ~/c.pem\nPass p\n", "CertificateFile (the file does not exist): carried over as ca_file"},
		{"Tunnel", "", "Tunnel \"ssh x\"\nPass p\n", "Tunnel ssh x: mdsync connects only over TCP"},
		{"Timeout", "", "Timeout 5\nPass p\n", `set timeout = "5s"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := "IMAPAccount acc\nHost imap.example.com\n" + tc.acct + "\n" +
				"IMAPStore far\nAccount acc\n\n" +
				"MaildirStore near\nPath ~/Mail/\nInbox ~/Mail/INBOX\nSubFolders Verbatim\n\n" +
				"Channel c\nFar :far:\nNear :near:\nPatterns *\n" + tc.extra
			if tc.acct == "" {
				rc = strings.Replace(rc, "Host imap.example.com\n", "Host imap.example.com\nPass p\n", 1)
			}
			// The note belongs to the line of the option.
			marker := tc.extra + tc.acct
			if tc.name == "no password" {
				marker = "IMAPAccount"
			}
			line := strings.Count(rc[:strings.Index(rc, marker)], "\n") + 1
			res, err, _ := readText(t, rc)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range res.Notes {
				if strings.Contains(n.Text, tc.text) {
					if n.Line != line {
						t.Errorf("note at line %d, want %d: %s", n.Line, line, n)
					}
					return
				}
			}
			t.Errorf("no note containing %q; notes:\n%s", tc.text, notesText(res.Notes))
		})
	}
}

func notesText(ns []migrate.Note) string {
	var b strings.Builder
	for _, n := range ns {
		b.WriteString(n.String() + "\n")
	}
	return b.String()
}

func TestTLSDefaults(t *testing.T) {
	for _, tc := range []struct {
		acct, tls string
		plain     bool
	}{
		{"Host h.example\n", "starttls", false},
		{"Host h.example\nSSLType IMAPS\n", "implicit", false},
		{"Host imaps:h.example\n", "implicit", false},
		{"Host h.example\nTLSType STARTTLS\n", "starttls", false},
		{"Host h.example\nSSLType None\n", "none", true},
		{"Host 127.0.0.1\nSSLType None\n", "none", false},
		{"Host localhost\nSSLType None\n", "none", false},
		{"Host h.example\nUseIMAPS yes\n", "implicit", false},
		{"Tunnel \"x\"\n", "none", false},
	} {
		res, err, _ := readText(t, "IMAPAccount acc\n"+tc.acct+"Pass p\n\nIMAPStore far\nAccount acc\n\n"+
			"MaildirStore near\nPath ~/Mail/\nInbox ~/Mail/INBOX\n\nChannel c\nFar :far:\nNear :near:\n")
		if err != nil {
			t.Fatalf("%q: %v", tc.acct, err)
		}
		if got := res.Config.IMAP[0]; got.TLS != tc.tls || got.AllowPlaintext != tc.plain {
			t.Errorf("%q: tls=%q allow_plaintext=%v, want %q %v", tc.acct, got.TLS, got.AllowPlaintext, tc.tls, tc.plain)
		}
	}
}

func TestUniqueNames(t *testing.T) {
	r := &reader{names: map[string]bool{}}
	for _, tc := range []struct{ in, want string }{
		{"work", "work"}, {"work", "work-2"}, {"my.acc@x", "my-acc-x"}, {"ü", "mbsync"}, {"a_b-C9", "a_b-C9"},
	} {
		if got := r.uniqueName("imap", tc.in); got != tc.want {
			t.Errorf("uniqueName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := r.uniqueName("maildir", "work"); got != "work" {
		t.Errorf("maildir names are a namespace of their own: got %q", got)
	}
}
