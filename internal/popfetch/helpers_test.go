package popfetch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// env is one local side: a Maildir store and a state DB in a temp dir.
type env struct {
	dir   string
	store *maildir.Store
	db    *state.DB
	opts  Options // without a password: see options
}

func newEnv(t testing.TB, dir string, port int) *env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	store, err := maildir.OpenWith(filepath.Join(dir, "mail"), maildir.Options{Layout: maildir.Verbatim})
	if err != nil {
		t.Fatal(err)
	}
	db, err := state.Open(context.Background(), filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// what the config of a plain account on this machine gives
	opts := Options{
		Account: "acct", Host: "127.0.0.1", Port: port, TLS: mailnet.TLSNone, User: "u",
		Timeout: 10 * time.Second, Store: store, Folder: "INBOX", DB: db,
	}
	return &env{dir: dir, store: store, db: db, opts: opts}
}

// options are the env's Options with the password of a run.
func (e *env) options(pass string) Options {
	o := e.opts
	o.Password = pass
	return o
}

func (e *env) fetcher(pass string) *Fetcher { return New(e.options(pass)) }

func (e *env) run(t testing.TB, pass string) (Result, error) {
	t.Helper()
	return e.fetcher(pass).Run(context.Background())
}

func (e *env) mustRun(t testing.TB, pass string) Result {
	t.Helper()
	res, err := e.run(t, pass)
	if err != nil {
		t.Fatalf("run: %v (result %+v)", err, res)
	}
	return res
}

func (e *env) inbox() string { return filepath.Join(e.dir, "mail", "INBOX") }

// files returns the contents of the files in new/ and cur/.
func (e *env) files(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(e.inbox(), sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, de := range ents {
			b, err := os.ReadFile(filepath.Join(e.inbox(), sub, de.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

func (e *env) countDir(t testing.TB, sub string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.inbox(), sub))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return len(ents)
}

func (e *env) seen(t testing.TB) map[string]state.UIDL {
	t.Helper()
	m, err := e.db.POPSeen(context.Background(), "acct")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *env) journal(t testing.TB) []state.Entry {
	t.Helper()
	j, err := e.db.Journal(context.Background(), state.POPOwner("acct"))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

var msgIDRe = regexp.MustCompile(`(?mi)^Message-ID:\s*(\S+)`)

// checkExactly asserts that the delivered files are exactly want (each once,
// contents with LF line endings, compared as a multiset), that their
// Message-IDs are unique, and that tmp/ is empty.
func (e *env) checkExactly(t testing.TB, want [][]byte) {
	t.Helper()
	got := e.files(t)
	ids := map[string]int{}
	for _, b := range got {
		m := msgIDRe.FindSubmatch(b)
		if m == nil {
			t.Errorf("delivered file without Message-ID: %.80q", b)
			continue
		}
		ids[string(m[1])]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("Message-ID %s delivered %d times", id, n)
		}
	}
	norm := func(bs [][]byte) []string {
		var s []string
		for _, b := range bs {
			s = append(s, string(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))))
		}
		sort.Strings(s)
		return s
	}
	g, w := norm(got), norm(want)
	if len(g) != len(w) {
		t.Fatalf("%d files delivered, want %d", len(g), len(w))
	}
	for i := range g {
		if g[i] != w[i] {
			t.Fatalf("delivered content differs from the server's (file %d of %d, %d vs %d bytes)", i, len(g), len(g[i]), len(w[i]))
		}
	}
	if n := e.countDir(t, "tmp"); n != 0 {
		t.Errorf("%d files left in tmp/", n)
	}
}
