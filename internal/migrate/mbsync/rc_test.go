package mbsync

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/migrate"
)

// readText writes rc into a temp home and reads it as mbsync 1.4.
func readText(t *testing.T, rc string) (*migrate.Result, error, string) {
	t.Helper()
	home := t.TempDir()
	path := filepath.Join(home, ".mbsyncrc")
	if err := os.WriteFile(path, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Read(t.Context(), path, Options{Home: home, StateHome: filepath.Join(home, "state"), Version: "1.4"})
	return res, err, home
}

const goodHead = `IMAPAccount acc
Host imap.example.com
User me
PassCmd "pass show mail"

IMAPStore far
Account acc

MaildirStore near
Path ~/Mail/
Inbox ~/Mail/INBOX
SubFolders Verbatim

`

func TestReadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, rc string
		line     int
		msg      string
	}{
		{"unknown top-level keyword", "Bogus x\n", 1, "'Bogus' is not a recognized section-starting or global keyword"},
		{"unknown keyword in section", "IMAPAccount a\nHost h\nHots x\n", 3, "keyword 'Hots' is not recognized in IMAPAccount sections"},
		{"missing argument", "IMAPAccount a\nHost\n", 2, "parameter missing"},
		{"invalid SSLType", "IMAPAccount a\nHost h\nSSLType Foo\n", 3, "invalid SSL type 'Foo'"},
		{"invalid TLSType", "IMAPAccount a\nHost h\nTLSType imap\n", 3, "invalid TLS type"},
		{"invalid boolean", "IMAPAccount a\nHost h\nSystemCertificates maybe\n", 3, "invalid boolean value 'maybe'"},
		{"invalid port", "IMAPAccount a\nHost h\nPort 99999\n", 3, "Invalid port number"},
		{"invalid integer", "IMAPAccount a\nHost h\nPort imaps\n", 3, "invalid integer value 'imaps'"},
		{"excess token", "IMAPAccount a\nHost h x\n", 2, "excess token 'x'"},
		{"missing quote", "IMAPAccount a\nPass \"abc\n", 2, "missing closing quote"},
		{"unterminated escape", "IMAPAccount a\nPass abc\\\n", 2, "unterminated escape sequence"},
		{"no host", "IMAPAccount a\nUser u\n", 1, "has neither Tunnel nor Host"},
		{"user and usercmd", "IMAPAccount a\nHost h\nUser u\nUserCmd x\n", 4, "both User and UserCmd"},
		{"pass and passcmd", "IMAPAccount a\nHost h\nPass p\nPassCmd x\n", 4, "both Pass and PassCmd"},
		{"global after section", "IMAPAccount a\nHost h\n\nSyncState *\n", 4, "may not follow sections"},
		{"section without blank line", "IMAPAccount a\nHost h\nIMAPStore s\nAccount a\n", 3, "keyword 'IMAPStore' is not recognized in IMAPAccount sections (a section ends only at a blank line)"},
		{"unknown account", "IMAPStore s\nAccount nope\n", 2, "unknown IMAP account 'nope'"},
		{"account defined later", "IMAPStore s\nAccount a\n\nIMAPAccount a\nHost h\n", 2, "unknown IMAP account 'a'"},
		{"account and account options", "IMAPAccount a\nHost h\n\nIMAPStore s\nAccount a\nUser u\n", 6, "both Account and account-specific options"},
		{"channel with undefined store", goodHead + "Channel c\nFar :nope:\nNear :near:\n", 15, "unknown store 'nope'"},
		{"malformed store spec", goodHead + "Channel c\nFar far\nNear :near:\n", 15, "malformed mailbox spec"},
		{"channel without near", goodHead + "Channel c\nFar :far:\n", 14, "refers to no near side store"},
		{"invalid Sync", goodHead + "Channel c\nFar :far:\nNear :near:\nSync Pull Sideways\n", 17, "invalid Sync arg 'Sideways'"},
		{"invalid Create", goodHead + "Channel c\nFar :far:\nNear :near:\nCreate Server\n", 17, "invalid argument 'Server'"},
		{"invalid SubFolders", "MaildirStore m\nSubFolders Dotted\n", 2, "invalid SubFolders style"},
		{"maildir++ with path", "MaildirStore m\nPath ~/Mail/\nSubFolders Maildir++\n", 2, "incompatible with 'SubFolders Maildir++'"},
		{"invalid size", goodHead + "Channel c\nFar :far:\nNear :near:\nMaxSize 10G\n", 17, "invalid size '10G'"},
		{"flatten with slash", "MaildirStore m\nFlatten /\n", 2, "cannot contain the canonical delimiter"},
		{"field delimiter", "FieldDelimiter ab\n", 1, "exactly one character"},
		{"keyword of another section", "IMAPAccount a\nHost h\nInbox ~/x\n", 3, "keyword 'Inbox' is not recognized in IMAPAccount sections"},
		{"group keyword", "Group g a b\nFar :x:\n", 2, "keyword 'Far' is not recognized in Group sections"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err, home := readText(t, tc.rc)
			var me *migrate.Error
			if !errors.As(err, &me) {
				t.Fatalf("err = %v (%T), want a *migrate.Error", err, err)
			}
			if me.File != filepath.Join(home, ".mbsyncrc") || me.Line != tc.line || !strings.Contains(me.Msg, tc.msg) {
				t.Errorf("got %s:%d: %s\nwant line %d containing %q", me.File, me.Line, me.Msg, tc.line, tc.msg)
			}
		})
	}
}

func TestLexQuotesAndComments(t *testing.T) {
	lines, err := lex("# comment\nPass \"a b\"c\\\"d  # trailing\nHost h#x\n  \nUser \"\"\n")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, l := range lines {
		got = append(got, l.Key+"|"+strings.Join(l.Args, "|"))
	}
	want := []string{`Pass|a bc"d`, "Host|h#x", "|", "User|", "|"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if lines[0].Num != 2 || lines[1].Num != 3 {
		t.Errorf("line numbers %d %d, want 2 3", lines[0].Num, lines[1].Num)
	}
}

func TestCommentDoesNotEndSection(t *testing.T) {
	res, err, _ := readText(t, "IMAPAccount acc\nHost h\n# a comment\nUser u\nPass p\n\n"+
		"IMAPStore far\nAccount acc\n\nMaildirStore near\nPath ~/Mail/\nInbox ~/Mail/INBOX\nSubFolders Verbatim\n\n"+
		"Channel c\nFar :far:\nNear :near:\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Config.IMAP) != 1 || res.Config.IMAP[0].User != "u" {
		t.Errorf("IMAP = %+v", res.Config.IMAP)
	}
}

func TestKeywordsCaseInsensitive(t *testing.T) {
	res, err, _ := readText(t, "imapaccount acc\nHOST h\nuser u\npass p\nssltype imaps\n\n"+
		"imapstore far\naccount acc\n\nmaildirstore near\npath ~/Mail/\ninbox ~/Mail/INBOX\nsubfolders verbatim\n\n"+
		"channel c\nmaster :far:\nslave :near:\npattern *\nexpunge BOTH\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Config.IMAP[0]; got.Host != "h" || got.TLS != "implicit" {
		t.Errorf("IMAP = %+v", got)
	}
	if got := res.Config.Channel[0]; got.Expunge != "both" || len(got.Folders) != 1 || got.Folders[0] != "*" {
		t.Errorf("Channel = %+v", got)
	}
}
