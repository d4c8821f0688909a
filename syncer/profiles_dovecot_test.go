package syncer_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// A server profile is a private Dovecot configured to look like another
// server: what it announces, and how it names folders.
type profile struct {
	name   string
	prefix string // personal namespace prefix ("" for none)
	opts   []dovecot.Option
	// proxy, if set, stands between mdsync and the Dovecot
	proxy *dovecot.ProxyRules
	// localOnly are flag letters the server cannot keep
	localOnly string
	// bare: it announces none of CONDSTORE, QRESYNC, MOVE
	bare bool
}

func ptr[T any](v T) *T { return &v }

var profiles = []profile{
	{name: "dovecot"},
	// Courier-IMAP: "INBOX." with '.', no LIST-STATUS, CONDSTORE, ESEARCH
	// or MOVE
	{name: "courier", prefix: "INBOX.", bare: true, opts: []dovecot.Option{
		dovecot.WithNamespace("INBOX.", "."),
		dovecot.WithConfig("imap_capability = IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT SORT QUOTA IDLE"),
	}},
	// Exchange / Microsoft 365: no CONDSTORE, QRESYNC or MOVE
	{name: "exchange", bare: true, opts: []dovecot.Option{
		dovecot.WithConfig("imap_capability = IMAP4 IMAP4rev1 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+"),
	}},
	// GNU imap4d: PERMANENTFLAGS without $Forwarded or \*, and a STORE of
	// it answered with BAD
	{name: "imap4d", localOnly: "P", proxy: ptr(dovecot.IMAP4dRules())},
	// Courier's login hand-over: what comes behind the login is lost
	{name: "courier-login", prefix: "INBOX.", bare: true, opts: []dovecot.Option{
		dovecot.WithNamespace("INBOX.", "."),
		dovecot.WithConfig("imap_capability = IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT SORT QUOTA IDLE"),
	}, proxy: &dovecot.ProxyRules{DropAfterLogin: true}},
}

// withoutFlag removes a flag letter from every message of a state.
func withoutFlag(m map[string][]dovecot.Msg, letters string) map[string][]dovecot.Msg {
	if letters == "" {
		return m
	}
	out := map[string][]dovecot.Msg{}
	for k, v := range m {
		var vs []dovecot.Msg
		for _, x := range v {
			for _, r := range letters {
				x.Flags = strings.ReplaceAll(x.Flags, string(r), "")
			}
			vs = append(vs, x)
		}
		sort.Slice(vs, func(i, j int) bool { return vs[i].SHA256+vs[i].Flags < vs[j].SHA256+vs[j].Flags })
		out[k] = vs
	}
	return out
}

// stripPrefix renames a server state's folders to the local tree's names
// (no prefix, levels joined by '/').
func stripPrefix(m map[string][]dovecot.Msg, prefix string) map[string][]dovecot.Msg {
	out := map[string][]dovecot.Msg{}
	for k, v := range m {
		k = strings.TrimPrefix(k, prefix)
		if prefix != "" {
			k = strings.ReplaceAll(k, ".", "/")
		}
		out[k] = v
	}
	return out
}

// TestServerProfiles runs the main scenarios on every profile: a first
// sync of nested folders, a run that changes nothing, changes on both
// sides, a local move between folders, and a lost state rebuilt by content.
func TestServerProfiles(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			e := newEnvWith(t, "", "", p.opts...)
			if p.proxy != nil {
				px := dovecot.StartIMAPProxy(t, e.d.IMAPAddr(), *p.proxy)
				e.cfg.IMAP["t"].Port = px.Port
			}
			srv := func(name string) string {
				if name == "INBOX" {
					return name
				}
				return p.prefix + name
			}
			sep := "/"
			if p.prefix != "" {
				sep = "."
			}
			converged := func(when string) map[string][]dovecot.Msg {
				t.Helper()
				s := stripPrefix(e.server(t), p.prefix)
				l := withoutFlag(e.local(t), p.localOnly)
				if d := dovecot.Diff(s, l); d != "" {
					t.Fatalf("%s: sides differ:\n%s", when, d)
				}
				if dup := dovecot.Duplicates(s); len(dup) > 0 {
					t.Fatalf("%s: duplicates %v", when, dup)
				}
				return s
			}
			archive := "Archive" + sep + "2023"
			e.d.CreateFolder(t, user, srv("Archive"))
			e.d.CreateFolder(t, user, srv(archive))
			for i := 0; i < 6; i++ {
				e.d.Append(t, user, "INBOX", dovecot.GenMessage(400, i, 500), [][]imap.Flag{nil, {imap.FlagSeen}}[i%2]...)
				e.d.Append(t, user, srv(archive), dovecot.GenMessage(401, i, 500), imap.FlagSeen)
			}
			store, _ := maildir.OpenWith(e.root, maildir.Options{Layout: maildir.Verbatim})
			sent, err := store.CreateFolder("Sent", '/')
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				sent.Deliver(bytes.NewReader(dovecot.GenMessage(402, i, 500)), maildir.DeliverOpts{Flags: "S"})
			}
			res := e.mustRun(t)
			if res.Fetched != 12 || res.Appended != 3 {
				t.Errorf("first sync: %+v", res)
			}
			if p.bare {
				// the profile took: none of the missing extensions used
				for _, ext := range []string{"(CONDSTORE)", "CHANGEDSINCE", "UID MOVE"} {
					if strings.Contains(e.trace.String(), ext) {
						t.Errorf("%s used on a server without it", ext)
					}
				}
				if p.prefix != "" && strings.Contains(e.trace.String(), "RETURN (STATUS") {
					t.Error("LIST-STATUS used on a server without it")
				}
			}
			converged("first sync")

			res = e.mustRun(t)
			if w := writeCommands(e.trace.String()); len(w) > 0 || res.Fetched+res.Appended+res.FlagsLocal+res.FlagsServer != 0 {
				t.Errorf("no-change run: %+v %v", res, w)
			}

			// both sides change
			e.d.Append(t, user, "INBOX", dovecot.GenMessage(403, 0, 500))
			e.d.SetFlags(t, user, srv(archive), 1, imap.StoreFlagsAdd, imap.FlagFlagged)
			seen := e.seenFiles(t, "INBOX", -1)
			flagLocally(t, seen[0])
			if p.localOnly != "" { // forwarded by the reader: the server cannot keep it
				if err := os.Rename(seen[2], strings.TrimSuffix(seen[2], ":2,S")+":2,PS"); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Remove(seen[1]); err != nil {
				t.Fatal(err)
			}
			sent.Deliver(bytes.NewReader(dovecot.GenMessage(404, 0, 500)), maildir.DeliverOpts{Flags: "S"})
			res = e.mustRun(t)
			if res.Fetched != 1 || res.Appended != 1 || res.FlagsLocal != 1 || res.FlagsServer != 1 || res.Expunged != 1 {
				t.Errorf("changes both ways: %+v", res)
			}
			converged("changes both ways")

			if p.localOnly != "" {
				if got, _ := filepath.Glob(filepath.Join(e.root, "INBOX", "cur", "*:2,PS")); len(got) != 1 {
					t.Errorf("the local P was lost: %v", got)
				}
			}

			// a local move
			arch, _ := store.Folder("Archive/2023", '/')
			msgs, _, _ := sent.ScanNames()
			for _, m := range msgs {
				if _, err := sent.MoveTo(m, arch); err != nil {
					t.Fatal(err)
				}
				break
			}
			res = e.mustRun(t)
			if res.Moved != 1 || res.Appended+res.Fetched != 0 {
				t.Errorf("local move: %+v", res)
			}
			if p.bare && !strings.Contains(e.trace.String(), "UID COPY") {
				t.Error("the move was not a COPY on a server without MOVE")
			}
			converged("local move")

			// the state lost: rebuilt by content, nothing copied
			e.db.Close()
			if err := os.Remove(filepath.Join(e.cfg.StateDir, "state.db")); err != nil {
				t.Fatal(err)
			}
			e.db = reopen(t, e.cfg.StateDir)
			res = e.mustRun(t)
			if res.Fetched+res.Appended != 0 || res.Linked == 0 {
				t.Errorf("lost state: %+v", res)
			}
			converged("lost state")
		})
	}
}

// reopen opens a state DB anew, closed at the end of the test.
func reopen(t *testing.T, dir string) *state.DB {
	t.Helper()
	db, err := state.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
