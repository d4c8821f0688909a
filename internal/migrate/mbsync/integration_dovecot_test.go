package mbsync

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/migrate"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// The integration test syncs a Dovecot account with the real mbsync, then
// checks that Read adopts exactly what mbsync knows: every server message
// once, under its server UID, paired with the local file that holds it,
// with the server's flags.

// localDirs is where mbsync 1.4 (SubFolders Verbatim) keeps each folder,
// below the Maildir root: non-ASCII names in modified UTF-7.
var localDirs = map[string]string{
	"INBOX":        "INBOX",
	"Archive":      "Archive",
	"Archive/2023": "Archive/2023",
	"Entwürfe":     "Entw&APw-rfe",
	"Sent":         "Sent",
}

func requireMbsync(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("mbsync"); err != nil {
		if os.Getenv(dovecot.RequireEnv) == "1" {
			t.Fatalf("mbsync not installed and %s=1", dovecot.RequireEnv)
		}
		t.Skip("mbsync not installed")
	}
}

// runMbsync runs mbsync with HOME=home and fails the test on an error.
func runMbsync(t *testing.T, home string, args ...string) {
	t.Helper()
	cmd := exec.Command("mbsync", append([]string{"-c", filepath.Join(home, "mbsyncrc")}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mbsync %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestMbsyncIntegration(t *testing.T) {
	requireMbsync(t)
	d := dovecot.Start(t, dovecot.WithUser("u", "p"))
	for _, f := range []string{"Archive", "Archive/2023", "Entwürfe", "Sent"} {
		d.CreateFolder(t, "u", f)
	}
	flagSets := [][]imap.Flag{nil, {imap.FlagSeen}, {imap.FlagFlagged}, {imap.FlagSeen, imap.FlagAnswered},
		{imap.FlagDraft}, {imap.FlagSeen, "$Forwarded"}}
	n := 0
	for _, f := range []string{"INBOX", "Archive", "Archive/2023", "Entwürfe", "Sent"} {
		for i := 0; i < 6; i++ {
			d.Append(t, "u", f, dovecot.GenMessage(7, n, 400+37*n), flagSets[(n+i)%len(flagSets)]...)
			n++
		}
	}

	for _, tc := range []struct{ name, syncState string }{
		{"SyncState *", "SyncState *\n"},
		{"default state directory", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			mail := filepath.Join(home, "Mail")
			if err := os.MkdirAll(mail, 0o700); err != nil {
				t.Fatal(err)
			}
			rc := fmt.Sprintf("IMAPAccount acc\nHost 127.0.0.1\nPort %d\nUser u\nPass p\nSSLType None\n\n"+
				"IMAPStore remote\nAccount acc\n\n"+
				"MaildirStore local\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"+
				"Channel mail\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nExpunge Both\n%s",
				d.IMAPPort, mail, mail, tc.syncState)
			if err := os.WriteFile(filepath.Join(home, "mbsyncrc"), []byte(rc), 0o600); err != nil {
				t.Fatal(err)
			}
			runMbsync(t, home, "-a")

			// Changes on both sides, so that the state's flags are not
			// just the initial ones: a local flag change, a new local
			// message (pushed, so its server UID comes from mbsync) and a
			// server flag change.
			inboxNew := filepath.Join(mail, "INBOX", "new")
			ents, err := os.ReadDir(inboxNew)
			if err != nil || len(ents) == 0 {
				t.Fatalf("INBOX/new: %v %d", err, len(ents))
			}
			name := ents[0].Name()
			key := name[:strings.LastIndex(name, ":2,")]
			if err := os.Rename(filepath.Join(inboxNew, name), filepath.Join(mail, "INBOX", "cur", key+":2,FS")); err != nil {
				t.Fatal(err)
			}
			local := dovecot.GenMessage(8, len(tc.name), 500)
			if err := os.WriteFile(filepath.Join(mail, "Archive", "cur", "1700000000.local1.test:2,S"), bytes.ReplaceAll(local, []byte("\r\n"), []byte("\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			uids := d.SnapshotFolder(t, "u", "Sent")
			d.SetFlags(t, "u", "Sent", uids[0].UID, imap.StoreFlagsAdd, imap.FlagFlagged)
			runMbsync(t, home, "-a")

			res, err := Read(t.Context(), filepath.Join(home, "mbsyncrc"), Options{Home: home, StateHome: filepath.Join(home, ".local", "state")})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Config.Maildir) != 1 || res.Config.Maildir[0].Path != mail || res.Config.Maildir[0].Layout != "verbatim" || res.Config.Maildir[0].Names != "mutf7" {
				t.Errorf("maildir = %+v", res.Config.Maildir)
			}
			checkAdopted(t, d, mail, res)
			checkPair(t, res, "INBOX", func(p migrate.Pair) bool { return p.Key == key && p.Flags == "FS" }, "the locally flagged message with flags FS")
			checkPair(t, res, "Sent", func(p migrate.Pair) bool { return p.UID == uint32(uids[0].UID) && strings.Contains(p.Flags, "F") }, "the message flagged on the server")
			checkPair(t, res, "Archive", func(p migrate.Pair) bool { return strings.HasPrefix(p.Key, "1700000000.local1.test,U=") && p.UID > 6 }, "the message pushed by mbsync")

			// An interrupted run leaves a journal: that folder is not
			// adopted, the others are.
			d.Append(t, "u", "INBOX", dovecot.GenMessage(9, len(tc.name), 300))
			runMbsync(t, home, "-Tj", "mail:INBOX")
			res, err = Read(t.Context(), filepath.Join(home, "mbsyncrc"), Options{Home: home, StateHome: filepath.Join(home, ".local", "state")})
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]bool{}
			for _, f := range res.Folders {
				names[f.Name] = true
			}
			if names["INBOX"] || !names["Archive/2023"] || !names["Entwürfe"] {
				t.Errorf("after an interrupted run: folders %v, want all but INBOX", names)
			}
			found := false
			for _, n := range res.Notes {
				found = found || strings.Contains(n.Text, "folder INBOX: not adopted: mbsync was interrupted")
			}
			if !found {
				t.Errorf("no note about INBOX's journal:\n%s", notesText(res.Notes))
			}
		})
	}
}

// checkPair fails unless folder has a pair for which ok holds.
func checkPair(t *testing.T, res *migrate.Result, folder string, ok func(migrate.Pair) bool, what string) {
	t.Helper()
	for _, f := range res.Folders {
		if f.Name != folder {
			continue
		}
		for _, p := range f.Pairs {
			if ok(p) {
				return
			}
		}
		t.Errorf("%s: no pair for %s in %+v", folder, what, f.Pairs)
		return
	}
	t.Errorf("folder %s not adopted", folder)
}

// serverMsg is what the test needs of a server message.
type serverMsg struct {
	MessageID string
	Flags     string // Maildir letters
}

var flagLetters = map[imap.Flag]string{imap.FlagDraft: "D", imap.FlagFlagged: "F", "$Forwarded": "P", imap.FlagAnswered: "R", imap.FlagSeen: "S", imap.FlagDeleted: "T"}

// serverMessages fetches the UID, flags and Message-ID of every message.
func serverMessages(t *testing.T, d *dovecot.Server) map[string]map[uint32]serverMsg {
	t.Helper()
	c := d.Client(t, "u", "p")
	out := map[string]map[uint32]serverMsg{}
	for _, folder := range d.Folders(t, "u") {
		if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatal(err)
		}
		out[folder] = map[uint32]serverMsg{}
		section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}
		msgs, err := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			t.Fatalf("%s: %v", folder, err)
		}
		for _, m := range msgs {
			var letters []string
			for _, f := range m.Flags {
				if l, ok := flagLetters[f]; ok {
					letters = append(letters, l)
				}
			}
			sort.Strings(letters)
			out[folder][uint32(m.UID)] = serverMsg{MessageID: messageID(m.FindBodySection(section)), Flags: strings.Join(letters, "")}
		}
	}
	return out
}

// messageID returns the Message-ID header of a message (or its header).
func messageID(msg []byte) string {
	s := bufio.NewScanner(bytes.NewReader(msg))
	for s.Scan() {
		line := strings.TrimRight(s.Text(), "\r")
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Message-ID") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// localMessageID reads the Message-ID of the file with Maildir key key in
// dir (cur/ or new/).
func localMessageID(t *testing.T, dir, key string) string {
	t.Helper()
	for _, sub := range []string{"cur", "new"} {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range ents {
			if k, _ := mdsyncKey(e.Name()); k == key {
				f, err := os.Open(filepath.Join(dir, sub, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				b, _ := io.ReadAll(f)
				return messageID(b)
			}
		}
	}
	return ""
}

// checkAdopted compares the adopted folders with the server.
func checkAdopted(t *testing.T, d *dovecot.Server, mail string, res *migrate.Result) {
	t.Helper()
	byName := map[string]migrate.Folder{}
	for _, f := range res.Folders {
		if _, dup := byName[f.Name]; dup {
			t.Errorf("folder %q adopted twice", f.Name)
		}
		byName[f.Name] = f
	}
	server := serverMessages(t, d)
	if len(server) != len(localDirs) {
		t.Fatalf("server folders %v", server)
	}
	for folder, msgs := range server {
		f, ok := byName[folder]
		if !ok {
			t.Errorf("folder %q not adopted; notes:\n%s", folder, notesText(res.Notes))
			continue
		}
		if want := d.UIDValidity(t, "u", folder); f.UIDValidity != want {
			t.Errorf("%s: UIDVALIDITY %d, want %d", folder, f.UIDValidity, want)
		}
		pairs := map[uint32]migrate.Pair{}
		for _, p := range f.Pairs {
			if _, dup := pairs[p.UID]; dup {
				t.Errorf("%s: UID %d paired twice", folder, p.UID)
			}
			pairs[p.UID] = p
		}
		if len(pairs) != len(msgs) {
			t.Errorf("%s: %d pairs for %d server messages", folder, len(pairs), len(msgs))
		}
		for uid, m := range msgs {
			p, ok := pairs[uid]
			if !ok {
				t.Errorf("%s: server UID %d (%s) not paired", folder, uid, m.MessageID)
				continue
			}
			if got := localMessageID(t, filepath.Join(mail, localDirs[folder]), p.Key); got != m.MessageID || got == "" {
				t.Errorf("%s: UID %d is %s on the server, but its key %s holds %q", folder, uid, m.MessageID, p.Key, got)
			}
			if p.Flags != m.Flags {
				t.Errorf("%s: UID %d flags %q, server has %q", folder, uid, p.Flags, m.Flags)
			}
		}
	}
}
