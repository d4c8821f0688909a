package syncer_test

import (
	"bytes"
	"context"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/app/options"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/syncer"
)

// TestPlainIMAP4rev1Server: a server without UIDPLUS, MOVE, CONDSTORE,
// ESEARCH or LIST-STATUS (go-imap's in-process server with IMAP4rev1 only)
// still syncs both ways: uploads are linked by content on the next run, a
// move is COPY + expunge, deletions expunge only our messages.
func TestPlainIMAP4rev1Server(t *testing.T) {
	addr, u := dovecot.StartMemServerCaps(t, user, pass, imap.CapSet{imap.CapIMAP4rev1: {}})
	if err := u.Create("Archive", nil); err != nil {
		t.Fatal(err)
	}
	_, portText, _ := strings.Cut(addr, ":")
	port, _ := strconv.Atoi(portText)
	dir := t.TempDir()
	root := filepath.Join(dir, "mail")
	cfg, db := channelConfig(t, dir, port, root, "", "")
	store, _ := maildir.OpenWith(root, maildir.Options{Layout: maildir.Verbatim})
	run := func() *syncer.Result {
		t.Helper()
		o := options.Channel(cfg, "t", pass, nil, nil)
		o.Store, o.DB = store, db
		res, err := syncer.Run(context.Background(), o)
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		return res
	}
	c := memServerClient(t, addr)
	for i := 0; i < 5; i++ {
		m := dovecot.GenMessage(60, i, 400)
		cmd := c.Append("INBOX", int64(len(m)), nil)
		cmd.Write(m)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	inbox, _ := store.CreateFolder("INBOX", '/')
	for i := 0; i < 3; i++ {
		inbox.Deliver(bytes.NewReader(dovecot.GenMessage(61, i, 400)), maildir.DeliverOpts{Flags: "S"})
	}
	run()
	run() // links the uploads (no APPENDUID)
	check := func() map[string][]dovecot.Msg {
		t.Helper()
		s, l := dovecot.ClientState(t, c), dovecot.LocalState(t, root)
		if d := dovecot.Diff(s, l); d != "" {
			t.Fatalf("differ:\n%s", d)
		}
		if dup := dovecot.Duplicates(s); len(dup) > 0 {
			t.Fatalf("duplicates %v", dup)
		}
		return s
	}
	if s := check(); len(s["INBOX"]) != 8 {
		t.Fatalf("INBOX %d", len(s["INBOX"]))
	}
	// delete one, move one, flag one — locally
	msgs, _, _ := inbox.Scan()
	var ms []maildir.Message
	for _, m := range msgs {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Key < ms[j].Key })
	arch, _ := store.Folder("Archive", '/')
	inbox.Remove(ms[0])
	inbox.MoveTo(ms[1], arch)
	inbox.SetFlags(ms[2], "FS")
	run()
	res := run()
	s := check()
	if len(s["INBOX"]) != 6 || len(s["Archive"]) != 1 {
		t.Fatalf("after changes: %s / %+v", dovecot.Diff(s, nil), res)
	}
}

func memServerClient(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
