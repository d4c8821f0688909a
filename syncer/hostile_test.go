package syncer_test

// Hostile-server tests (issue 3): a scripted fake IMAP server lists
// path-traversal names, cuts a body literal short, sends a garbage line,
// drops the connection mid-FETCH or stops answering. Each case shows that
// nothing is written outside the maildir root, that the error says what
// went wrong and where, and that the state is unharmed: the same server
// turned sane converges on the next run, fetching every message exactly
// once.

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mdsync/mdsync/internal/app/options"
	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/testkit/imapfake"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
	"github.com/mdsync/mdsync/syncer"
)

// fakeEnv is a fake server, a maildir root nested two levels below a
// sandbox directory (so that "../../x" from the root lands inside the
// sandbox, where the test can see it), and a state DB in the sandbox.
type fakeEnv struct {
	srv     *imapfake.Server
	sandbox string
	root    string
	cfg     *config.Config
	db      *state.DB
}

func newFakeEnv(t *testing.T, srv *imapfake.Server, timeout string) *fakeEnv {
	t.Helper()
	sb := t.TempDir()
	e := &fakeEnv{srv: srv, sandbox: sb, root: filepath.Join(sb, "a", "b", "mail")}
	e.cfg, e.db = channelConfig(t, sb, srv.Port, e.root, fmt.Sprintf("timeout = %q", timeout), "")
	return e
}

func (e *fakeEnv) store(t *testing.T) *maildir.Store {
	t.Helper()
	s, err := maildir.OpenWith(e.root, maildir.Options{Layout: maildir.Verbatim})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run syncs once, with a 30 s safety net against a hang.
func (e *fakeEnv) run(t *testing.T) (*syncer.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := options.Channel(e.cfg, "t", "secret", nil, nil)
	o.Store, o.DB = e.store(t), e.db
	res, err := syncer.Run(ctx, o)
	if ctx.Err() != nil {
		t.Fatalf("sync hung until the safety net: %v", err)
	}
	return res, err
}

func (e *fakeEnv) mustRun(t *testing.T) *syncer.Result {
	t.Helper()
	res, err := e.run(t)
	if err != nil {
		t.Fatalf("sync against the sane server: %v (notes %v)", err, res.Notes)
	}
	return res
}

// assertConfined checks that everything in the sandbox is the state
// directory, the two parents of the root, or inside the root; and that the
// absolute paths a naive join of the hostile names would reach are absent.
func (e *fakeEnv) assertConfined(t *testing.T) {
	t.Helper()
	allowed := map[string]bool{"a": true, filepath.Join("a", "b"): true}
	filepath.WalkDir(e.sandbox, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Errorf("walk %s: %v", p, err)
			return nil
		}
		rel, _ := filepath.Rel(e.sandbox, p)
		switch {
		case rel == ".", allowed[rel]:
		case rel == "state", strings.HasPrefix(rel, "state"+string(filepath.Separator)):
		case rel == filepath.Join("a", "b", "mail"), strings.HasPrefix(rel, filepath.Join("a", "b", "mail")+string(filepath.Separator)):
			if d.Type()&fs.ModeSymlink != 0 {
				t.Errorf("symbolic link %s in the maildir", rel)
			}
		default:
			t.Errorf("written outside the maildir root: %s", rel)
		}
		return nil
	})
	for _, p := range []string{"/x", "/b", "/etc/cur", "/etc/new", "/etc/tmp", "/cur", "/tmp/cur"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists: written through a hostile name?", p)
		}
	}
}

// local returns, per folder name, the bodies (CRLF line endings) found in
// cur/ and new/, and fails on anything in tmp/ that is not an aborted
// delivery (tmp/ may hold nothing the user can see).
func (e *fakeEnv) local(t *testing.T) map[string][]string {
	t.Helper()
	s := e.store(t)
	names, err := s.Folders('/')
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, n := range names {
		f, err := s.Folder(n, '/')
		if err != nil {
			t.Fatal(err)
		}
		msgs, _, err := f.Scan()
		if err != nil {
			t.Fatal(err)
		}
		out[n] = []string{}
		for _, m := range msgs {
			b, err := os.ReadFile(m.Path(f))
			if err != nil {
				t.Fatal(err)
			}
			out[n] = append(out[n], strings.ReplaceAll(string(b), "\n", "\r\n"))
		}
		sort.Strings(out[n])
	}
	return out
}

// pairs returns the UIDs the state DB pairs in a folder, with their keys.
func (e *fakeEnv) pairs(t *testing.T, folder string) map[uint32]string {
	t.Helper()
	fs, err := e.db.Folders(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32]string{}
	f, ok := fs[folder]
	if !ok {
		return out
	}
	ps, err := e.db.Pairs(context.Background(), f.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.UID != 0 {
			if old, dup := out[p.UID]; dup {
				t.Errorf("%s: UID %d paired twice (%s, %s)", folder, p.UID, old, p.Key)
			}
			out[p.UID] = p.Key
		}
	}
	return out
}

// assertSubset checks that every local message of folder is one of the
// server's bodies, whole, at most once.
func assertWholeAndUnique(t *testing.T, folder string, local []string, bodies []string) {
	t.Helper()
	known := map[string]bool{}
	for _, b := range bodies {
		known[b] = true
	}
	seen := map[string]bool{}
	for _, l := range local {
		if !known[l] {
			t.Errorf("%s: a local message (%d bytes) is not a whole server message: partial write?", folder, len(l))
		}
		if seen[l] {
			t.Errorf("%s: a message (%d bytes) is there twice", folder, len(l))
		}
		seen[l] = true
	}
}

func body(i, size int) string {
	h := fmt.Sprintf("Message-ID: <m%d@fake>\r\nSubject: message %d\r\n\r\n", i, i)
	line := fmt.Sprintf("line of message %d\r\n", i)
	var b strings.Builder
	b.WriteString(h)
	for b.Len()+len(line) <= size-2 {
		b.WriteString(line)
	}
	for b.Len() < size-2 {
		b.WriteByte('x')
	}
	b.WriteString("\r\n")
	return b.String()
}

func bodies(n, size int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, body(i, size))
	}
	return out
}

// TestHostileFolderNames: LIST returns names that a naive path join would
// take outside the root, or onto a maildir sub-directory. Names the maildir
// cannot map fail with the name in the error; the others are escaped into
// one safe directory each, reversibly; nothing lands outside the root.
func TestHostileFolderNames(t *testing.T) {
	t.Parallel()
	// with LIST-STATUS (one LIST) and without (LIST, then a STATUS per name)
	for _, caps := range []string{"LIST-STATUS UIDPLUS", "UIDPLUS"} {
		t.Run(caps, func(t *testing.T) {
			t.Parallel()
			testHostileFolderNames(t, caps)
		})
	}
}

func testHostileFolderNames(t *testing.T, caps string) {
	srv := imapfake.StartWith(t, func(s *imapfake.Server) { s.Caps = caps })
	msgs := bodies(2, 300)
	srv.AddMailbox("INBOX", msgs[0])
	// name as LIST sends it (quoted, modified UTF-7) -> the decoded name the
	// sync sees. "/etc" has an empty first level: no mapping.
	hostile := []struct{ wire, decoded string }{
		{"../../x", "../../x"},
		{"a/../../b", "a/../../b"},
		{"..", ".."},
		{".", "."},
		{"cur", "cur"},
		{"INBOX/../../etc", "INBOX/../../etc"},
		{"n&AAA-ul", "n\x00ul"},        // NUL, in modified UTF-7
		{"ctl&AAE-x", "ctl\x01x"},      // control character, in modified UTF-7
		{"tab&AAk-x", "tab\tx"},        // tab
		{"&ABoAGw-esc", "\x1a\x1besc"}, // escape and substitute
		{"/etc", "/etc"},
	}
	for _, h := range hostile {
		if h.wire == "../../x" {
			srv.AddMailbox(h.wire, msgs[1]) // a message to deliver through it
		} else {
			srv.AddMailbox(h.wire)
		}
	}
	e := newFakeEnv(t, srv, "2s")

	res, err := e.run(t)
	if err == nil {
		t.Fatalf("a name that cannot be mapped (/etc) did not fail the run")
	}
	t.Logf("first run: %v", err)
	if !strings.Contains(err.Error(), `"/etc"`) || !strings.Contains(err.Error(), "empty level") {
		t.Errorf("error does not say which name and why: %v", err)
	}
	if len(res.Errors) != 1 {
		t.Errorf("want exactly one folder error (/etc), got %q", res.Errors)
	}
	e.assertConfined(t)

	// Every other name became exactly the directory NameToPath gives it,
	// which maps back to the same name.
	s := e.store(t)
	want := map[string]bool{"INBOX": true}
	for _, h := range hostile {
		if h.decoded == "/etc" {
			continue
		}
		want[h.decoded] = true
		p, err := s.NameToPath(h.decoded, '/')
		if err != nil {
			t.Errorf("NameToPath(%q): %v", h.decoded, err)
			continue
		}
		rel, _ := filepath.Rel(e.root, p)
		for _, c := range strings.Split(rel, string(filepath.Separator)) {
			if c == "." || c == ".." || c == "cur" || c == "new" || c == "tmp" || strings.ContainsAny(c, "\x00\x01\t\x1a\x1b") {
				t.Errorf("%q maps to an unsafe path %q", h.decoded, rel)
			}
		}
		if back, err := s.PathToName(p, '/'); err != nil || back != h.decoded {
			t.Errorf("%q -> %q -> %q, %v: not reversible", h.decoded, rel, back, err)
		}
		if !isDir(filepath.Join(p, "cur")) {
			t.Errorf("%q: folder %q not created", h.decoded, rel)
		}
	}
	got := e.local(t)
	for n := range got {
		if !want[n] {
			t.Errorf("unexpected local folder %q", n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("local folders %d, want %d: %v", len(got), len(want), keys(got))
	}
	if fmt.Sprint(got["INBOX"]) != fmt.Sprint([]string{msgs[0]}) {
		t.Errorf("INBOX not synced: %d messages", len(got["INBOX"]))
	}
	if fmt.Sprint(got["../../x"]) != fmt.Sprint([]string{msgs[1]}) {
		t.Errorf("../../x not synced inside the root: %d messages", len(got["../../x"]))
	}

	// The server drops the unmappable name: the next run converges and a
	// third one changes nothing.
	srv.RemoveMailbox("/etc")
	e.mustRun(t)
	res = e.mustRun(t)
	if res.Fetched+res.Appended+res.Created != 0 {
		t.Errorf("third run still changes things: %+v", res)
	}
	e.assertConfined(t)
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestHostileUndecodableNames: names the IMAP client cannot decode (a raw
// NUL in a literal, a raw control character, invalid UTF-8) kill the LIST.
// The run fails saying so, writes nothing, and once the server lists sane
// names the next run converges.
func TestHostileUndecodableNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, wire string
	}{
		{"NUL in a literal", "{3}\r\na\x00b"},
		{"control char, quoted", "\"a\x01b\""},
		{"control char in a literal", "{3}\r\na\x7fb"},
		{"invalid UTF-8", "\"a\xffb\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := imapfake.Start(t)
			msgs := bodies(2, 200)
			srv.AddMailbox("INBOX", msgs...)
			srv.AddRaw("bad", tc.wire)
			e := newFakeEnv(t, srv, "2s")
			_, err := e.run(t)
			t.Logf("error: %v", err)
			if err == nil || !strings.Contains(err.Error(), "list folders") {
				t.Fatalf("want a LIST error, got %v", err)
			}
			e.assertConfined(t)
			if got := e.local(t); len(got) != 0 {
				t.Errorf("folders written despite the failed LIST: %v", keys(got))
			}
			srv.RemoveMailbox("bad")
			e.mustRun(t)
			got := e.local(t)
			if fmt.Sprint(keys(got)) != "[INBOX]" || len(got["INBOX"]) != 2 {
				t.Fatalf("not converged: %v", got)
			}
			assertWholeAndUnique(t, "INBOX", got["INBOX"], msgs)
		})
	}
}

// TestHostileFetch: a body literal cut short, a garbage line, or a dropped
// connection in the middle of UID FETCH BODY[]; once for the whole run
// (persistent) or only on the first connection (transient, so the retry on
// a fresh connection within the same run succeeds).
func TestHostileFetch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		fault   imapfake.Fault
		wantErr []string // fragments of the error of a persistent fault
		// fully sent before the fault (they may be kept)
		before int
	}{
		{"truncated literal", imapfake.Fault{Cmd: "FETCH BODY", UID: 2, Do: imapfake.Truncate}, []string{"INBOX", "fetch", "EOF"}, 1},
		{"garbage line", imapfake.Fault{Cmd: "FETCH BODY", UID: 2, Do: imapfake.Garbage}, []string{"INBOX", "fetch", "GARBAGE"}, 1},
		{"close mid-fetch", imapfake.Fault{Cmd: "FETCH BODY", UID: 3, Do: imapfake.Close}, []string{"INBOX", "fetch", "EOF"}, 2},
	}
	for _, tc := range cases {
		for _, transient := range []bool{false, true} {
			name := tc.name + "/persistent"
			if transient {
				name = tc.name + "/transient"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := imapfake.Start(t)
				msgs := bodies(4, 1000)
				srv.AddMailbox("INBOX", msgs...)
				f := tc.fault
				if transient {
					f.Times = 1
				}
				srv.Script(f)
				e := newFakeEnv(t, srv, "2s")
				res, err := e.run(t)
				t.Logf("error: %v", err)
				e.assertConfined(t)
				if ents, _ := os.ReadDir(filepath.Join(e.root, "INBOX", "tmp")); len(ents) != 0 {
					t.Errorf("%d files left in tmp/", len(ents))
				}
				got := e.local(t)
				assertWholeAndUnique(t, "INBOX", got["INBOX"], msgs)
				pairs := e.pairs(t, "INBOX")
				if transient {
					if err != nil {
						t.Fatalf("a fault on the first connection only was not retried: %v", err)
					}
				} else {
					if err == nil {
						t.Fatalf("no error (result %+v)", res)
					}
					for _, w := range tc.wantErr {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error does not mention %q: %v", w, err)
						}
					}
					if _, ok := pairs[uint32(tc.before+1)]; ok {
						t.Errorf("UID %d (the one hit by the fault) has a pair", tc.before+1)
					}
					if len(got["INBOX"]) > tc.before {
						t.Errorf("%d messages kept, only %d were sent whole", len(got["INBOX"]), tc.before)
					}
				}
				// every pair points at a file that holds its message
				s := e.store(t)
				inbox, _ := s.Folder("INBOX", '/')
				for uid, key := range pairs {
					m, found, err := inbox.Lookup(key)
					if err != nil || !found {
						t.Errorf("UID %d paired with %s, which is not there (%v)", uid, key, err)
						continue
					}
					b, _ := os.ReadFile(m.Path(inbox))
					if strings.ReplaceAll(string(b), "\n", "\r\n") != msgs[uid-1] {
						t.Errorf("UID %d paired with a file of other content", uid)
					}
				}

				// The server turns sane: the next run converges, each
				// message fetched whole exactly once over both runs.
				srv.Script()
				e.mustRun(t)
				got = e.local(t)
				if len(got["INBOX"]) != len(msgs) {
					t.Errorf("after the sane run: %d local messages, want %d", len(got["INBOX"]), len(msgs))
				}
				assertWholeAndUnique(t, "INBOX", got["INBOX"], msgs)
				if p := e.pairs(t, "INBOX"); len(p) != len(msgs) {
					t.Errorf("after the sane run: %d pairs, want %d", len(p), len(msgs))
				}
				for uid := uint32(1); uid <= uint32(len(msgs)); uid++ {
					if n := srv.BodiesSent("INBOX", uid); n != 1 {
						t.Errorf("UID %d sent whole %d times, want once", uid, n)
					}
				}
				res = e.mustRun(t)
				if res.Fetched+res.Appended+res.DeletedLocal+res.Expunged != 0 {
					t.Errorf("a third run still changes things: %+v", res)
				}
				e.assertConfined(t)
			})
		}
	}
}

// TestHostileStall: a server that stops answering, wherever it stops (even
// inside a body literal, where go-imap alone waits 5 minutes), fails the run
// within the configured timeout, with a timeout error; the next run against
// the sane server converges.
func TestHostileStall(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	cases := []struct {
		name  string
		fault imapfake.Fault
	}{
		{"no answer to LOGIN", imapfake.Fault{Cmd: "LOGIN", Do: imapfake.Stall}},
		{"no answer to LIST", imapfake.Fault{Cmd: "LIST", Do: imapfake.Stall}},
		{"no answer to SELECT", imapfake.Fault{Cmd: "SELECT", Do: imapfake.Stall}},
		{"no answer to UID FETCH BODY[]", imapfake.Fault{Cmd: "FETCH BODY", UID: 0, Do: imapfake.Stall}},
		{"stall after the first message", imapfake.Fault{Cmd: "FETCH BODY", UID: 2, Do: imapfake.Stall}},
		{"stall inside a body literal", imapfake.Fault{Cmd: "FETCH BODY", UID: 1, Do: imapfake.TruncateStall}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := imapfake.Start(t)
			msgs := bodies(3, 1000)
			srv.AddMailbox("INBOX", msgs...)
			srv.Script(tc.fault)
			e := newFakeEnv(t, srv, timeout.String())
			start := time.Now()
			_, err := e.run(t)
			took := time.Since(start)
			t.Logf("failed after %v: %v", took.Round(10*time.Millisecond), err)
			if err == nil {
				t.Fatal("no error from a server that stopped answering")
			}
			if !strings.Contains(err.Error(), "timeout") {
				t.Errorf("not a timeout error: %v", err)
			}
			// once the timeout, not twice: a stall is not retried on a
			// fresh connection
			if took > timeout*9/5 {
				t.Errorf("took %v with timeout %v", took, timeout)
			}
			e.assertConfined(t)
			got := e.local(t)
			assertWholeAndUnique(t, "INBOX", got["INBOX"], msgs)

			srv.Script()
			e.mustRun(t)
			got = e.local(t)
			if len(got["INBOX"]) != len(msgs) {
				t.Errorf("after the sane run: %d local messages, want %d", len(got["INBOX"]), len(msgs))
			}
			assertWholeAndUnique(t, "INBOX", got["INBOX"], msgs)
			for uid := uint32(1); uid <= uint32(len(msgs)); uid++ {
				if n := srv.BodiesSent("INBOX", uid); n != 1 {
					t.Errorf("UID %d sent whole %d times, want once", uid, n)
				}
			}
		})
	}
}
