package syncer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/app"
	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
	"github.com/mdsync/mdsync/syncer"
)

const user, pass = "alice", "secret"

// env is a Dovecot account, a Maildir tree and a state DB.
type env struct {
	d     *dovecot.Server
	cfg   *config.Config
	root  string
	db    *state.DB
	trace bytes.Buffer
	// opts are the local store's settings (zero: verbatim, UTF-8 names)
	opts maildir.Options
}

func newEnv(t *testing.T, extra string) *env {
	t.Helper()
	return newEnvWith(t, "", extra)
}

// newEnvWith is newEnv with keys of the account (imapExtra) too, and
// options of the Dovecot.
func newEnvWith(t *testing.T, imapExtra, channelExtra string, opts ...dovecot.Option) *env {
	t.Helper()
	d := dovecot.Start(t, append([]dovecot.Option{dovecot.WithUser(user, pass)}, opts...)...)
	dir := t.TempDir()
	e := &env{d: d, root: filepath.Join(dir, "mail")}
	e.cfg, e.db = channelConfig(t, dir, d.IMAPPort, e.root, imapExtra, channelExtra)
	return e
}

// channelConfig parses the config of a channel "t" toward 127.0.0.1:port
// (plain, user alice) into root, with its state in dir/state, plus extra
// keys of the account and of the channel, and opens that state.
func channelConfig(t *testing.T, dir string, port int, root, imapExtra, channelExtra string) (*config.Config, *state.DB) {
	t.Helper()
	text := fmt.Sprintf(`
state_dir = %q
[imap.t]
host = "127.0.0.1"
port = %d
tls = "none"
user = %q
password = %q
%s
[maildir.t]
path = %q
[channel.t]
imap = "t"
maildir = "t"
%s
`, filepath.Join(dir, "state"), port, user, pass, imapExtra, root, channelExtra)
	cfg, err := config.Parse("test.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	db, err := state.Open(context.Background(), cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return cfg, db
}

func (e *env) run(t *testing.T, mod func(o *syncer.Options)) (*syncer.Result, error) {
	t.Helper()
	store, err := maildir.OpenWith(e.root, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.trace.Reset()
	o := app.ChannelOptions(e.cfg, "t", pass, nil, &e.trace)
	o.Store, o.DB = store, e.db
	if mod != nil {
		mod(&o)
	}
	return syncer.Run(context.Background(), o)
}

func (e *env) mustRun(t *testing.T) *syncer.Result {
	t.Helper()
	res, err := e.run(t, nil)
	if err != nil {
		t.Fatalf("sync: %v (notes %v)", err, res.Notes)
	}
	return res
}

// appendMessages appends n generated messages (seed, i, size) to a folder
// of the server and returns their UIDs.
func (e *env) appendMessages(t *testing.T, folder string, seed int64, n, size int, flags ...imap.Flag) []imap.UID {
	t.Helper()
	var uids []imap.UID
	for i := 0; i < n; i++ {
		uids = append(uids, e.d.Append(t, user, folder, dovecot.GenMessage(seed, i, size), flags...))
	}
	return uids
}

// seenFiles lists a folder's seen messages in cur/, sorted; want >= 0
// checks how many there are.
func (e *env) seenFiles(t *testing.T, folder string, want int) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(e.root, folder, "cur", "*:2,S"))
	if err != nil || (want >= 0 && len(files) != want) {
		t.Fatalf("%s: %d seen files (want %d), err %v", folder, len(files), want, err)
	}
	sort.Strings(files)
	return files
}

// flagLocally flags a seen message as a mail client does (renaming its
// file from :2,S to :2,FS).
func flagLocally(t *testing.T, seen string) {
	t.Helper()
	if err := os.Rename(seen, strings.TrimSuffix(seen, ":2,S")+":2,FS"); err != nil {
		t.Fatal(err)
	}
}

func (e *env) server(t *testing.T) map[string][]dovecot.Msg { return e.d.ServerState(t, user) }

func (e *env) local(t *testing.T) map[string][]dovecot.Msg {
	return dovecot.LocalState(t, e.root)
}

// converged asserts both sides hold the same messages with the same flags.
func (e *env) converged(t *testing.T) map[string][]dovecot.Msg {
	t.Helper()
	s, l := e.server(t), e.local(t)
	if d := dovecot.Diff(s, l); d != "" {
		t.Fatalf("sides differ:\n%s", d)
	}
	return s
}

func summarize(m map[string][]dovecot.Msg) string {
	var parts []string
	for f, v := range m {
		var fl []string
		for _, x := range v {
			fl = append(fl, x.SHA256[:6]+":"+x.Flags)
		}
		parts = append(parts, fmt.Sprintf("%s=%v", f, fl))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// fileNames lists every file under the maildir root.
func fileNames(t *testing.T, root string) []string {
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// traceFields splits a trace line into fields, without its connection tag
// ("[c1]").
func traceFields(line string) []string {
	f := strings.Fields(line)
	if len(f) > 0 && strings.HasPrefix(f[0], "[c") && strings.HasSuffix(f[0], "]") {
		f = f[1:]
	}
	return f
}

func writeCommands(trace string) []string {
	var out []string
	for _, line := range strings.Split(trace, "\n") {
		f := traceFields(line)
		if len(f) < 2 {
			continue
		}
		cmd := strings.ToUpper(f[1])
		if cmd == "UID" && len(f) > 2 {
			cmd = "UID " + strings.ToUpper(f[2])
		}
		switch cmd {
		case "STORE", "UID STORE", "APPEND", "EXPUNGE", "UID EXPUNGE", "UID MOVE", "MOVE", "COPY", "UID COPY", "CREATE", "DELETE":
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

func TestInitialSyncThenNoop(t *testing.T) {
	e := newEnv(t, "")
	e.d.CreateFolder(t, user, "Archive/2023")
	e.d.CreateFolder(t, user, "Entwürfe")
	e.d.CreateFolder(t, user, "Big")
	for i := 0; i < 5; i++ {
		e.d.Append(t, user, "INBOX", dovecot.GenMessage(1, i, 2000), [][]imap.Flag{nil, {imap.FlagSeen}, {imap.FlagFlagged, imap.FlagSeen}, {imap.FlagAnswered}, {imap.FlagDraft, imap.Flag("$Forwarded")}}[i]...)
	}
	for i := 0; i < 3; i++ {
		e.d.Append(t, user, "Archive/2023", dovecot.GenMessage(2, i, 1000), imap.FlagSeen)
	}
	e.d.Append(t, user, "Entwürfe", dovecot.GenMessage(3, 0, 500), imap.FlagDraft)
	e.d.Append(t, user, "Big", dovecot.GenMessage(4, 0, 30<<20))

	res := e.mustRun(t)
	if res.Fetched != 10 {
		t.Errorf("fetched %d, want 10", res.Fetched)
	}
	snap := e.converged(t)
	if len(snap["Archive/2023"]) != 3 || len(snap["Entwürfe"]) != 1 || len(snap["INBOX"]) != 5 {
		t.Errorf("local tree: %s", summarize(snap))
	}
	// folders on disk as mutt expects, non-ASCII names in UTF-8
	for _, p := range []string{"INBOX/cur", "INBOX/new", "Archive/2023/cur", "Entwürfe/cur", "Big/new"} {
		if _, err := os.Stat(filepath.Join(e.root, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	before := fileNames(t, e.root)
	// an unread message lands in new/
	if n, _ := filepath.Glob(filepath.Join(e.root, "INBOX", "new", "*")); len(n) != 1 {
		t.Errorf("INBOX/new holds %d files, want 1 (the unread, unflagged one)", len(n))
	}

	for run := 0; run < 2; run++ {
		res = e.mustRun(t)
		if w := writeCommands(e.trace.String()); len(w) > 0 {
			t.Errorf("run %d: no-change run sent write commands: %v", run+2, w)
		}
		if res.Fetched+res.Appended+res.FlagsLocal+res.FlagsServer+res.DeletedLocal+res.Expunged+res.Moved != 0 {
			t.Errorf("run %d: no-change run changed things: %+v", run+2, res)
		}
		if after := fileNames(t, e.root); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("run %d: files renamed:\n%v\n%v", run+2, before, after)
		}
	}
	// the third run skips every folder without selecting it
	if strings.Contains(e.trace.String(), " SELECT ") {
		t.Errorf("a no-change run selected a folder:\n%s", e.trace.String())
	}
	if res.Unchanged != 4 {
		t.Errorf("unchanged folders = %d, want 4", res.Unchanged)
	}
}

func TestBidirectionalChanges(t *testing.T) {
	e := newEnv(t, "")
	e.d.CreateFolder(t, user, "Archive")
	uids := e.appendMessages(t, "INBOX", 10, 8, 800)
	e.mustRun(t)
	e.converged(t)

	store, _ := maildir.Open(e.root, maildir.Verbatim)
	inbox, _ := store.Folder("INBOX", '/')
	archive, _ := store.Folder("Archive", '/')
	msgs, _, _ := inbox.Scan()
	// map server UIDs to local keys through the content
	keyOf := map[string]maildir.Message{}
	for _, m := range msgs {
		b, _ := os.ReadFile(m.Path(inbox))
		keyOf[dovecot.BodySHA256(b)] = m
	}
	msgFor := func(i int) maildir.Message { return keyOf[dovecot.BodySHA256(dovecot.GenMessage(10, i, 800))] }

	// server side: new mail, a flag change, an expunge
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(11, 0, 900), imap.FlagSeen)
	e.d.SetFlags(t, user, "INBOX", uids[0], imap.StoreFlagsAdd, imap.FlagFlagged)
	e.d.Expunge(t, user, "INBOX", uids[1])
	// local side: new mail, a flag change, a deletion, a move
	if _, err := inbox.Deliver(bytes.NewReader(dovecot.GenMessage(12, 0, 700)), maildir.DeliverOpts{Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inbox.SetFlags(msgFor(2), "RS"); err != nil {
		t.Fatal(err)
	}
	if err := inbox.Remove(msgFor(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := inbox.MoveTo(msgFor(4), archive); err != nil {
		t.Fatal(err)
	}
	// conflicts: local delete vs server flag (delete wins); both change flags
	if err := inbox.Remove(msgFor(5)); err != nil {
		t.Fatal(err)
	}
	e.d.SetFlags(t, user, "INBOX", uids[5], imap.StoreFlagsAdd, imap.FlagFlagged)
	if _, err := inbox.SetFlags(msgFor(6), "S"); err != nil {
		t.Fatal(err)
	}
	e.d.SetFlags(t, user, "INBOX", uids[6], imap.StoreFlagsAdd, imap.FlagAnswered)

	res := e.mustRun(t)
	snap := e.converged(t)
	if res.Fetched != 1 || res.Appended != 1 || res.Expunged != 2 || res.DeletedLocal != 1 || res.Moved != 1 {
		t.Errorf("result %+v", res)
	}
	if len(snap["INBOX"]) != 6 || len(snap["Archive"]) != 1 {
		t.Errorf("after: %s", summarize(snap))
	}
	want := map[string]string{
		dovecot.BodySHA256(dovecot.GenMessage(10, 0, 800)): "F",
		dovecot.BodySHA256(dovecot.GenMessage(10, 2, 800)): "RS",
		dovecot.BodySHA256(dovecot.GenMessage(10, 6, 800)): "RS",
	}
	for _, m := range snap["INBOX"] {
		if f, ok := want[m.SHA256]; ok && f != m.Flags {
			t.Errorf("message %s flags %q, want %q", m.SHA256[:8], m.Flags, f)
		}
	}
	if snap["Archive"][0].SHA256 != dovecot.BodySHA256(dovecot.GenMessage(10, 4, 800)) {
		t.Errorf("the moved message is not in Archive")
	}
	if !strings.Contains(e.trace.String(), "MOVE") {
		t.Errorf("a local move did not become a server MOVE")
	}
	e.mustRun(t)
	e.converged(t)
}

func TestUIDValidityChange(t *testing.T) {
	e := newEnv(t, "")
	e.d.CreateFolder(t, user, "Lists")
	var msgs [][]byte
	for i := 0; i < 6; i++ {
		msgs = append(msgs, dovecot.GenMessage(20, i, 600))
		e.d.Append(t, user, "Lists", msgs[i], imap.FlagSeen)
	}
	e.mustRun(t)
	before := e.converged(t)
	uv := e.d.UIDValidity(t, user, "Lists")
	e.d.DeleteFolder(t, user, "Lists")
	e.d.CreateFolder(t, user, "Lists")
	for _, m := range msgs {
		e.d.Append(t, user, "Lists", m, imap.FlagSeen)
	}
	if e.d.UIDValidity(t, user, "Lists") == uv {
		t.Fatal("UIDVALIDITY did not change")
	}
	res := e.mustRun(t)
	after := e.converged(t)
	if len(after["Lists"]) != 6 || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after UIDVALIDITY change: %s", summarize(after))
	}
	if res.Linked != 6 || res.Appended != 0 || res.Fetched != 0 {
		t.Errorf("result %+v, want 6 re-linked and nothing copied", res)
	}
	found := false
	for _, n := range res.Notes {
		found = found || strings.Contains(n.Text, "UIDVALIDITY changed") && n.Notice
	}
	if !found {
		t.Errorf("the run did not say what it did: %v", res.Notes)
	}

	// a second change in a row holds the folder back, until forced
	recreate := func() {
		e.d.DeleteFolder(t, user, "Lists")
		e.d.CreateFolder(t, user, "Lists")
		for _, m := range msgs {
			e.d.Append(t, user, "Lists", m, imap.FlagSeen)
		}
	}
	uv = e.d.UIDValidity(t, user, "Lists")
	recreate()
	if e.d.UIDValidity(t, user, "Lists") == uv {
		t.Fatal("UIDVALIDITY did not change")
	}
	if _, err := e.run(t, nil); err == nil || !strings.Contains(err.Error(), `changed the UIDVALIDITY of "Lists" again`) {
		t.Errorf("a second change in a row: %v", err)
	}
	if d := dovecot.Diff(before, e.server(t)); d != "" {
		t.Errorf("the held-back folder changed on the server:\n%s", d)
	}
	res, err := e.run(t, func(o *syncer.Options) { o.ForceDelete = map[string]bool{"Lists": true} })
	if err != nil || res.Linked != 6 || res.Appended != 0 {
		t.Errorf("forced: %v %+v", err, res)
	}
	// a sync of the folder without a change: it counts as steady again
	extra := dovecot.GenMessage(21, 0, 600)
	e.d.Append(t, user, "Lists", extra, imap.FlagSeen)
	msgs = append(msgs, extra)
	if res := e.mustRun(t); res.Fetched != 1 {
		t.Fatalf("steady run: %+v", res)
	}
	recreate()
	if res := e.mustRun(t); res.Linked != 7 {
		t.Errorf("a change after a steady sync: %+v", res)
	}
}

func TestMassDeleteGuard(t *testing.T) {
	e := newEnv(t, "")
	uids := e.appendMessages(t, "INBOX", 30, 30, 300)
	e.mustRun(t)
	e.d.Expunge(t, user, "INBOX", uids...)
	res, err := e.run(t, nil)
	if !errors.Is(err, syncer.ErrFolders) || !strings.Contains(err.Error(), "--force-delete \"INBOX\"") {
		t.Fatalf("err = %v", err)
	}
	if n := len(e.local(t)["INBOX"]); n != 30 {
		t.Fatalf("guard let %d of 30 local messages go", 30-n)
	}
	if res.DeletedLocal != 0 {
		t.Fatalf("deleted %d", res.DeletedLocal)
	}
	res, err = e.run(t, func(o *syncer.Options) { o.ForceDelete = map[string]bool{"INBOX": true} })
	if err != nil {
		t.Fatal(err)
	}
	if res.DeletedLocal != 30 || len(e.local(t)["INBOX"]) != 0 {
		t.Fatalf("force-delete: %+v", res)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	e := newEnv(t, "")
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(40, 0, 300))
	res, err := e.run(t, func(o *syncer.Options) { o.DryRun = true })
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plans) != 1 || len(res.Plans[0].Actions) != 1 || res.Plans[0].Actions[0].Op != syncer.OpFetch {
		t.Fatalf("plan %+v", res.Plans)
	}
	if files := fileNames(t, e.root); len(files) != 0 {
		t.Fatalf("dry run wrote %v", files)
	}
	if w := writeCommands(e.trace.String()); len(w) > 0 {
		t.Fatalf("dry run sent %v", w)
	}
}

func noMessageID(seed int64, i int) []byte {
	m := dovecot.GenMessage(seed, i, 400)
	var out []string
	for _, l := range strings.Split(string(m), "\r\n") {
		if !strings.HasPrefix(l, "Message-ID:") {
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, "\r\n"))
}

// TestLostStateRelinksByContent: with the state DB gone (or a crash between
// an upload and its record), both sides hold the same messages unpaired; the
// run links them by Message-ID + size, or by content when there is no
// Message-ID, instead of copying anything again.
func TestLostStateRelinksByContent(t *testing.T) {
	e := newEnv(t, "")
	for i := 0; i < 4; i++ {
		e.d.Append(t, user, "INBOX", dovecot.GenMessage(50, i, 500), imap.FlagSeen)
		e.d.Append(t, user, "INBOX", noMessageID(51, i))
	}
	store, _ := maildir.Open(e.root, maildir.Verbatim)
	inbox, _ := store.CreateFolder("INBOX", '/')
	for i := 0; i < 3; i++ {
		inbox.Deliver(bytes.NewReader(noMessageID(52, i)), maildir.DeliverOpts{Flags: "S"})
		inbox.Deliver(bytes.NewReader(dovecot.GenMessage(53, i, 500)), maildir.DeliverOpts{})
	}
	e.mustRun(t)
	before := e.converged(t)
	if len(before["INBOX"]) != 14 {
		t.Fatalf("first sync: %d messages", len(before["INBOX"]))
	}
	// lose the state
	e.db.Close()
	os.Remove(filepath.Join(e.cfg.StateDir, state.FileName))
	db, err := state.Open(context.Background(), e.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	t.Cleanup(func() { db.Close() })
	res := e.mustRun(t)
	after := e.converged(t)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after losing the state:\n%s\n%s", summarize(before), summarize(after))
	}
	if res.Linked != 14 || res.Fetched != 0 || res.Appended != 0 {
		t.Fatalf("result %+v, want 14 linked, nothing copied", res)
	}
}

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
	store, _ := maildir.Open(root, maildir.Verbatim)
	run := func() *syncer.Result {
		t.Helper()
		o := app.ChannelOptions(cfg, "t", pass, nil, nil)
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

func TestFolderDeletionPolicies(t *testing.T) {
	for _, remove := range []string{"none", "both"} {
		t.Run("remove="+remove, func(t *testing.T) {
			e := newEnv(t, fmt.Sprintf("remove = %q", remove))
			e.d.CreateFolder(t, user, "GoneOnServer")
			e.d.CreateFolder(t, user, "GoneLocally")
			e.d.Append(t, user, "GoneOnServer", dovecot.GenMessage(70, 0, 300))
			e.d.Append(t, user, "GoneLocally", dovecot.GenMessage(71, 0, 300))
			e.mustRun(t)
			e.converged(t)
			e.d.DeleteFolder(t, user, "GoneOnServer")
			if err := os.RemoveAll(filepath.Join(e.root, "GoneLocally")); err != nil {
				t.Fatal(err)
			}
			res := e.mustRun(t)
			notes := fmt.Sprintln(res.Notes)
			_, localErr := os.Stat(filepath.Join(e.root, "GoneOnServer", "cur"))
			serverHas := false
			for _, f := range e.d.Folders(t, user) {
				serverHas = serverHas || f == "GoneLocally"
			}
			if remove == "none" {
				if localErr != nil || !serverHas {
					t.Errorf("remove=none deleted a folder (local err %v, server has %v)", localErr, serverHas)
				}
				if !strings.Contains(notes, `"GoneOnServer" was deleted on the server; kept locally`) || !strings.Contains(notes, `"GoneLocally" was removed locally; remove = "none" keeps it on the server: downloaded again`) {
					t.Errorf("the run did not say what it did: %s", notes)
				}
				// the removed folder came back whole, nothing was uploaded
				if res.Fetched != 1 || res.Appended != 0 || res.Expunged != 0 {
					t.Errorf("the removed folder was not downloaded again: %+v", res)
				}
				if got := e.local(t)["GoneLocally"]; len(got) != 1 {
					t.Errorf("GoneLocally holds %d messages locally, want 1", len(got))
				}
				if got := e.server(t)["GoneLocally"]; len(got) != 1 {
					t.Errorf("GoneLocally holds %d messages on the server, want 1", len(got))
				}
				// and the next run changes nothing
				if res := e.mustRun(t); res.Fetched+res.Appended+res.Expunged+res.DeletedLocal != 0 {
					t.Errorf("the run after: %+v", res)
				}
			} else {
				if localErr == nil || serverHas {
					t.Errorf("remove=both kept a folder (local err %v, server has %v): %s", localErr, serverHas, notes)
				}
				e.mustRun(t)
				e.converged(t)
			}
		})
	}
}

// TestServerOnlyChanges: with the Maildir untouched, a run loads only the
// pairs of the messages CONDSTORE reports changed, unless the message count
// shows an expunge; both ways must converge.
func TestServerOnlyChanges(t *testing.T) {
	e := newEnv(t, "")
	uids := e.appendMessages(t, "INBOX", 80, 10, 400)
	e.mustRun(t)
	// date the Maildir's directories back so that the next run trusts them
	old := time.Now().Add(-time.Hour)
	for _, sub := range []string{"cur", "new"} {
		os.Chtimes(filepath.Join(e.root, "INBOX", sub), old, old)
	}
	e.mustRun(t)
	e.d.SetFlags(t, user, "INBOX", uids[0], imap.StoreFlagsAdd, imap.FlagFlagged)
	e.d.SetFlags(t, user, "INBOX", uids[1], imap.StoreFlagsAdd, imap.FlagSeen)
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(81, 0, 400))
	res := e.mustRun(t)
	if res.FlagsLocal != 2 || res.Fetched != 1 {
		t.Fatalf("flags + new: %+v", res)
	}
	if res.PairsLoaded != 2 {
		t.Errorf("loaded %d pairs, want only the 2 of the changed messages", res.PairsLoaded)
	}
	e.converged(t)
	e.d.Expunge(t, user, "INBOX", uids[2])
	e.d.SetFlags(t, user, "INBOX", uids[3], imap.StoreFlagsAdd, imap.FlagAnswered)
	res = e.mustRun(t)
	if res.DeletedLocal != 1 || res.FlagsLocal != 1 {
		t.Fatalf("expunge + flag: %+v", res)
	}
	if res.PairsLoaded != 11 {
		t.Errorf("after an expunge loaded %d pairs, want all 11", res.PairsLoaded)
	}
	if snap := e.converged(t); len(snap["INBOX"]) != 10 {
		t.Fatalf("INBOX holds %d messages, want 10", len(snap["INBOX"]))
	}
	// That run renamed and deleted local files, so the mtimes moved; the
	// listing it saved shows that nothing else changed: again only the
	// pair of the changed message is read.
	e.d.SetFlags(t, user, "INBOX", uids[4], imap.StoreFlagsAdd, imap.FlagFlagged)
	res = e.mustRun(t)
	if res.FlagsLocal != 1 || res.PairsLoaded != 1 {
		t.Errorf("after our own renames: %+v, loaded %d pairs, want 1", res, res.PairsLoaded)
	}
	// A mail reader's rename right after that run (same mtime tick, as
	// far as we know) is seen and pushed.
	files, _ := filepath.Glob(filepath.Join(e.root, "INBOX", "new", "*"))
	if len(files) == 0 {
		t.Fatal("no unread message in INBOX/new")
	}
	if err := os.Rename(files[0], filepath.Join(e.root, "INBOX", "cur", filepath.Base(files[0])+":2,S")); err != nil {
		t.Fatal(err)
	}
	res = e.mustRun(t)
	if res.FlagsServer != 1 {
		t.Errorf("a local rename after our run: %+v", res)
	}
	e.converged(t)
}

// TestPipelinedGather: the server side of changed folders is gathered with
// their SELECT and FETCH pipelined on one connection; a folder that needs
// more (an expunge to find, a UIDVALIDITY change, a message new on both
// sides to match) is gathered again on its own, and every case converges
// with nothing lost or duplicated.
func TestPipelinedGather(t *testing.T) {
	e := newEnv(t, "")
	folders := []string{"A-flags", "B-expunge", "C-new", "D-uidvalidity", "E-match", "F-flags"}
	uids := map[string][]imap.UID{}
	msgs := map[string][][]byte{}
	for fi, f := range folders {
		e.d.CreateFolder(t, user, f)
		for i := 0; i < 5; i++ {
			m := dovecot.GenMessage(int64(500+fi), i, 500)
			msgs[f] = append(msgs[f], m)
			uids[f] = append(uids[f], e.d.Append(t, user, f, m, imap.FlagSeen))
		}
	}
	e.mustRun(t)
	e.converged(t)
	e.d.SetFlags(t, user, "A-flags", uids["A-flags"][1], imap.StoreFlagsAdd, imap.FlagFlagged)
	e.d.Expunge(t, user, "B-expunge", uids["B-expunge"][2])
	e.d.Append(t, user, "C-new", dovecot.GenMessage(600, 0, 500))
	e.d.DeleteFolder(t, user, "D-uidvalidity")
	e.d.CreateFolder(t, user, "D-uidvalidity")
	for _, m := range msgs["D-uidvalidity"] {
		e.d.Append(t, user, "D-uidvalidity", m, imap.FlagSeen)
	}
	both := dovecot.GenMessage(601, 0, 500)
	e.d.Append(t, user, "E-match", both, imap.FlagSeen)
	store, _ := maildir.Open(e.root, maildir.Verbatim)
	lf, _ := store.Folder("E-match", '/')
	if _, err := lf.Deliver(bytes.NewReader(both), maildir.DeliverOpts{Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	e.d.SetFlags(t, user, "F-flags", uids["F-flags"][0], imap.StoreFlagsDel, imap.FlagSeen)

	res := e.mustRun(t)
	t.Logf("pipelined %d", res.Pipelined)
	if res.Pipelined < 3 {
		t.Errorf("only %d folders gathered in the pipeline", res.Pipelined)
	}
	if res.Fetched != 1 || res.DeletedLocal != 1 || res.FlagsLocal != 2 || res.Appended != 0 {
		t.Errorf("result %+v", res)
	}
	snap := e.converged(t)
	want := map[string]int{"A-flags": 5, "B-expunge": 4, "C-new": 6, "D-uidvalidity": 5, "E-match": 6, "F-flags": 5}
	for f, n := range want {
		if len(snap[f]) != n {
			t.Errorf("%s holds %d messages, want %d", f, len(snap[f]), n)
		}
	}
	if res = e.mustRun(t); res.Fetched+res.Appended+res.FlagsLocal+res.FlagsServer+res.DeletedLocal+res.Expunged != 0 {
		t.Errorf("the run after did something: %+v", res)
	}
	e.converged(t)
}

// TestServerChangeDuringRun: a flag changed on the server after the run
// listed the folders, while it pushes a local change there, is not lost:
// the run saves the numbers its plan was made from, so the next run sees
// the change.
func TestServerChangeDuringRun(t *testing.T) {
	e := newEnv(t, "")
	uids := e.appendMessages(t, "INBOX", 90, 4, 400, imap.FlagSeen)
	e.mustRun(t)
	e.converged(t)
	// a local flag change: the plan needs no gather, the run selects the
	// folder only to push it
	flagLocally(t, e.seenFiles(t, "INBOX", 4)[0])
	changed := false
	res, err := e.run(t, func(o *syncer.Options) {
		o.Trace = func(format string, args ...any) {
			if strings.HasPrefix(format, "prepared") && !changed {
				changed = true
				e.d.SetFlags(t, user, "INBOX", uids[3], imap.StoreFlagsAdd, imap.FlagAnswered)
			}
		}
	})
	if err != nil || !changed || res.FlagsServer != 1 {
		t.Fatalf("run: %v, changed %v, %+v", err, changed, res)
	}
	res = e.mustRun(t)
	if res.FlagsLocal != 1 {
		t.Errorf("the server's change made during the last run was not brought over: %+v", res)
	}
	e.converged(t)
}

// TestNextSelectPipelined: on one connection, the SELECT of the next folder
// to push to goes out right behind the previous folder's STOREs and UID
// EXPUNGE (no round trip of its own), and every folder converges.
func TestNextSelectPipelined(t *testing.T) {
	e := newEnvWith(t, "max_connections = 1", "")
	d := e.d
	folders := []string{"A", "B", "C", "D"}
	for fi, f := range folders {
		d.CreateFolder(t, user, f)
		for i := 0; i < 4; i++ {
			d.Append(t, user, f, dovecot.GenMessage(int64(800+fi), i, 400), imap.FlagSeen)
		}
	}
	e.mustRun(t)
	e.converged(t)
	for _, f := range folders {
		files := e.seenFiles(t, f, 4)
		flagLocally(t, files[0])
		if err := os.Remove(files[1]); err != nil {
			t.Fatal(err)
		}
	}
	res := e.mustRun(t)
	if res.FlagsServer != 4 || res.Expunged != 4 {
		t.Fatalf("result %+v", res)
	}
	snap := e.converged(t)
	for _, f := range folders {
		if len(snap[f]) != 3 {
			t.Errorf("%s holds %d messages, want 3", f, len(snap[f]))
		}
	}
	// the trace shows a SELECT sent before the previous UID EXPUNGE was
	// answered, on the same connection (the lines of several interleave,
	// each tagged): on each connection all folders but its first
	lines := strings.Split(e.trace.String(), "\n")
	pending, overlapped, selecting := map[string]string{}, 0, map[string]bool{}
	for _, l := range lines {
		conn, _, _ := strings.Cut(l, " ")
		f := traceFields(l)
		if len(f) >= 3 && f[1] == "UID" && f[2] == "EXPUNGE" {
			pending[conn] = f[0]
		}
		if len(f) >= 2 && f[1] == "SELECT" {
			selecting[conn] = true
			if pending[conn] != "" {
				overlapped++
			}
		}
		if len(f) >= 2 && f[0] == pending[conn] && (f[1] == "OK" || f[1] == "NO" || f[1] == "BAD") {
			pending[conn] = ""
		}
	}
	t.Logf("overlapped %d on %d connections", overlapped, len(selecting))
	if want := len(folders) - len(selecting); !raceEnabled && (overlapped < want || overlapped == 0) {
		t.Errorf("%d SELECTs went out behind an unanswered UID EXPUNGE on %d connections, want %d:\n%s", overlapped, len(selecting), want, e.trace.String())
	}
	if res = e.mustRun(t); res.FlagsServer+res.Expunged+res.FlagsLocal+res.DeletedLocal != 0 {
		t.Errorf("the run after did something: %+v", res)
	}
}

// TestNextSelectThenRefetch: a folder's fetch has sent the next folder's
// SELECT ahead when a message it asked for does not come back (here it
// was expunged meanwhile): the folder is selected again for the second
// try, and the next folder selects anew before it writes anything.
func TestNextSelectThenRefetch(t *testing.T) {
	e := newEnvWith(t, "max_connections = 1", "")
	d := e.d
	for fi, f := range []string{"A", "B"} {
		d.CreateFolder(t, user, f)
		for i := 0; i < 3; i++ {
			d.Append(t, user, f, dovecot.GenMessage(int64(850+fi), i, 400), imap.FlagSeen)
		}
	}
	e.mustRun(t)
	e.converged(t)
	// A: two new messages on the server; B: a local flag change
	var gone imap.UID
	for i := 0; i < 2; i++ {
		gone = d.Append(t, user, "A", dovecot.GenMessage(852, i, 400))
	}
	flagLocally(t, e.seenFiles(t, "B", -1)[0])
	expunged := false
	res, err := e.run(t, func(o *syncer.Options) {
		o.Trace = func(format string, args ...any) {
			if !expunged && strings.HasSuffix(format, "gathered") && len(args) == 2 && args[1] == "A" {
				expunged = true
				d.Expunge(t, user, "A", gone) // after the plan, before the fetch
			}
		}
	})
	if err != nil || !expunged {
		t.Fatalf("run: %v (expunged %v)", err, expunged)
	}
	if res.Fetched != 1 || res.FlagsServer != 1 {
		t.Errorf("result %+v", res)
	}
	var sels []string
	storeAfter := ""
	for _, l := range strings.Split(e.trace.String(), "\n") {
		f := traceFields(l)
		if len(f) >= 3 && f[1] == "SELECT" {
			sels = append(sels, strings.Trim(f[2], `"`))
		}
		if len(f) >= 3 && f[1] == "UID" && f[2] == "STORE" {
			storeAfter = sels[len(sels)-1]
		}
	}
	if !raceEnabled && (strings.Join(sels, " ") != "A B A B" || storeAfter != "B") {
		t.Errorf("SELECTs %v, the STORE after SELECT %s; want A B A B, B", sels, storeAfter)
	}
	e.mustRun(t)
	snap := e.converged(t)
	if len(snap["A"]) != 4 || len(snap["B"]) != 3 {
		t.Errorf("A %d, B %d messages", len(snap["A"]), len(snap["B"]))
	}
}

// TestBriefPairsKeepMeta: a run that read a changed folder's pairs without
// their meta (size, fingerprint, Message-ID) still records every pair it
// rewrites with that meta intact: a flag change in place, a tombstone.
func TestBriefPairsKeepMeta(t *testing.T) {
	e := newEnv(t, `expunge = "none"`)
	for i := 0; i < 3; i++ {
		e.d.Append(t, user, "INBOX", dovecot.GenMessage(870, i, 400), imap.FlagSeen)
	}
	e.mustRun(t)
	ctx := context.Background()
	pairs := func() []state.Pair {
		fs, err := e.db.Folders(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		ps, err := e.db.Pairs(ctx, fs["INBOX"].ID)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	before := map[uint32]state.Pair{}
	for _, p := range pairs() {
		if p.Fingerprint == "" || p.MessageID == "" || p.Size == 0 {
			t.Fatalf("after the first run, pair without meta: %+v", p)
		}
		before[p.UID] = p
	}
	files := e.seenFiles(t, "INBOX", -1)
	flagLocally(t, files[0])
	if err := os.Remove(files[1]); err != nil {
		t.Fatal(err)
	}
	if res := e.mustRun(t); res.FlagsServer != 1 {
		t.Fatalf("result %+v", res)
	}
	after := pairs()
	if len(after) != 3 {
		t.Fatalf("%d pairs after, want 3 (one a tombstone)", len(after))
	}
	tomb := 0
	for _, p := range after {
		b := before[p.UID]
		if p.Fingerprint != b.Fingerprint || p.MessageID != b.MessageID || p.Size != b.Size {
			t.Errorf("pair uid %d lost its meta: %+v, was %+v", p.UID, p, b)
		}
		if p.Key == "" {
			tomb++
		}
	}
	if tomb != 1 {
		t.Errorf("%d tombstones, want 1", tomb)
	}
}

// TestServerConnectionLimit: a server that refuses connections beyond one
// per user: the extra logins (warm or not) fail, the folders go to the
// connection that works, and the run converges without an error.
func TestServerConnectionLimit(t *testing.T) {
	e := newEnvWith(t, "max_connections = 4", "", dovecot.WithConfig("mail_max_userip_connections = 1"))
	d := e.d
	var folders []string
	for fi := 0; fi < 8; fi++ {
		f := fmt.Sprintf("F%d", fi)
		folders = append(folders, f)
		d.CreateFolder(t, user, f)
		d.Append(t, user, f, dovecot.GenMessage(int64(900+fi), 0, 400), imap.FlagSeen)
	}
	e.mustRun(t)
	e.converged(t)
	for fi, f := range folders {
		d.Append(t, user, f, dovecot.GenMessage(int64(950+fi), 0, 400))
		// a flag to push: the folder needs a connection of its own
		// (new mail alone would be prefetched in the gather pipeline)
		flagLocally(t, e.seenFiles(t, f, 1)[0])
	}
	res := e.mustRun(t)
	if res.Fetched != len(folders) || res.FlagsServer != len(folders) {
		t.Errorf("fetched %d, flags to server %d, want %d each: %+v", res.Fetched, res.FlagsServer, len(folders), res)
	}
	if !strings.Contains(e.trace.String(), "Maximum number of connections") {
		t.Errorf("no login was refused; the test does not test the limit:\n%s", e.trace.String())
	}
	e.converged(t)
}

// TestPrefetchNewMail: new server mail in folders gathered in the pipeline
// comes with its bodies there (prefetched into tmp/, then renamed in): no
// connection of its own, the flags as on the server, nothing left in
// tmp/. A prefetched body the plan does not take (the message vanished
// before the folder's plan) is removed; a folder with local changes is
// gathered by a worker and fetches as usual (its new message is the same
// as a new local one: the two are linked). Mail that arrives after the
// LIST is not lost either.
func TestPrefetchNewMail(t *testing.T) {
	e := newEnv(t, "")
	folders := []string{"A", "B", "B2-vanish", "C-match", "D-flags", "E-late", "F-quiet"}
	uids := map[string][]imap.UID{}
	for fi, f := range folders {
		e.d.CreateFolder(t, user, f)
		uids[f] = e.appendMessages(t, f, int64(1200+fi), 3, 500, imap.FlagSeen)
	}
	e.mustRun(t)
	e.converged(t)

	e.d.Append(t, user, "A", dovecot.GenMessage(1300, 0, 500))
	e.d.Append(t, user, "A", dovecot.GenMessage(1300, 1, 500), imap.FlagSeen, imap.FlagFlagged)
	e.d.Append(t, user, "A", dovecot.GenMessage(1300, 2, 500), imap.FlagSeen)
	e.d.Append(t, user, "B", dovecot.GenMessage(1301, 0, 500))
	e.d.Append(t, user, "B", dovecot.GenMessage(1301, 1, 70_000), imap.FlagAnswered)
	both := dovecot.GenMessage(1302, 0, 500)
	e.d.Append(t, user, "C-match", both, imap.FlagSeen)
	e.d.Append(t, user, "C-match", dovecot.GenMessage(1302, 1, 500))
	store, _ := maildir.Open(e.root, maildir.Verbatim)
	lf, _ := store.Folder("C-match", '/')
	if _, err := lf.Deliver(bytes.NewReader(both), maildir.DeliverOpts{Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	// a flag change below the new message: asked in a FETCH of its own
	e.d.SetFlags(t, user, "D-flags", uids["D-flags"][1], imap.StoreFlagsAdd, imap.FlagFlagged)
	e.d.Append(t, user, "D-flags", dovecot.GenMessage(1303, 0, 500), imap.FlagDraft)
	e.d.Append(t, user, "E-late", dovecot.GenMessage(1304, 0, 500))
	// an expunge makes the pipeline leave the folder to a worker; the new
	// message, prefetched, is gone by then
	vanish := e.d.Append(t, user, "B2-vanish", dovecot.GenMessage(1305, 0, 500))
	e.d.Expunge(t, user, "B2-vanish", uids["B2-vanish"][0])

	late := dovecot.GenMessage(1304, 1, 500)
	res, err := e.run(t, func(o *syncer.Options) {
		o.Trace = func(format string, args ...any) {
			switch format {
			case "listed": // after LIST-STATUS, before the gather
				e.d.Append(t, user, "E-late", late)
			case "gathered ahead %d":
				e.d.Expunge(t, user, "B2-vanish", vanish)
			}
		}
	})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	// B2-vanish's new body was asked in the pipeline (then not taken)
	// (per connection: the lines of several interleave, each tagged; the
	// library writes the items in any order)
	prefetchOf := regexp.MustCompile(fmt.Sprintf(`UID FETCH %d \((?:(?:UID|FLAGS|INTERNALDATE) )+BODY\.PEEK\[\]\)`, vanish))
	asked, in := false, map[string]bool{}
	for _, l := range strings.Split(e.trace.String(), "\n") {
		conn, _, _ := strings.Cut(l, " ")
		if strings.Contains(l, " SELECT ") {
			in[conn] = strings.Contains(l, `SELECT "B2-vanish"`)
		}
		asked = asked || in[conn] && prefetchOf.MatchString(l)
	}
	if !asked && !raceEnabled {
		t.Errorf("B2-vanish's new message was not prefetched; the test does not test a body the plan leaves:\n%s", e.trace.String())
	}
	if res.Fetched != 9 || res.Linked != 1 || res.Appended != 0 || res.FlagsLocal != 1 || res.DeletedLocal != 1 {
		t.Errorf("fetched %d linked %d appended %d flags to local %d deleted locally %d, want 9, 1, 0, 1, 1: %+v", res.Fetched, res.Linked, res.Appended, res.FlagsLocal, res.DeletedLocal, res)
	}
	// A 3, B 2, D 1, E 1 (the late one is not among LIST-STATUS's new
	// ones: it is fetched on its own); not C's (gathered by a worker)
	if res.Prefetched != 7 {
		t.Errorf("prefetched %d, want 7", res.Prefetched)
	}
	snap := e.converged(t)
	want := map[string]int{"A": 6, "B": 5, "B2-vanish": 2, "C-match": 5, "D-flags": 4, "E-late": 5, "F-quiet": 3}
	for f, n := range want {
		if len(snap[f]) != n {
			t.Errorf("%s holds %d messages, want %d", f, len(snap[f]), n)
		}
		if left, _ := os.ReadDir(filepath.Join(e.root, f, "tmp")); len(left) > 0 {
			t.Errorf("%s/tmp holds %d files after the run", f, len(left))
		}
	}
	if n, _ := filepath.Glob(filepath.Join(e.root, "A", "new", "*")); len(n) != 1 {
		t.Errorf("A/new holds %d messages, want the unread, unflagged one", len(n))
	}
	if n, _ := filepath.Glob(filepath.Join(e.root, "B", "cur", "*:2,R")); len(n) != 1 {
		t.Errorf("B/cur holds %d answered unread messages, want 1", len(n))
	}
	if res = e.mustRun(t); res.Fetched+res.Appended+res.FlagsLocal+res.FlagsServer+res.DeletedLocal+res.Expunged+res.Linked != 0 {
		t.Errorf("the run after did something: %+v", res)
	}
	e.converged(t)
}

// TestCleanTmpOnDelivery: a run that delivers into a folder removes what
// interrupted deliveries left in its tmp/ more than 36 hours ago, and
// nothing younger (another program may be writing it).
func TestCleanTmpOnDelivery(t *testing.T) {
	e := newEnv(t, "")
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(1400, 0, 400), imap.FlagSeen)
	e.mustRun(t)
	tmp := filepath.Join(e.root, "INBOX", "tmp")
	check := dovecot.LeftInTmp(t, tmp)
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(1400, 1, 400))
	if res := e.mustRun(t); res.Fetched != 1 {
		t.Fatalf("fetched %d, want 1", res.Fetched)
	}
	check()
	e.converged(t)
}
