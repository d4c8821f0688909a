package syncer_test

// The shared environment of the tests against Dovecot: an account on a
// private Dovecot, a Maildir tree and a state DB, and what the tests
// read from a run (its trace, both sides' states).

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/app/options"
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
	o := options.Channel(e.cfg, "t", pass, nil, &e.trace)
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

// bodyFetches are the commands of a trace that fetch message bodies
// (BODY[], BODY.PEEK[] or BODY.PEEK[TEXT]; a header fetch is not one).
func bodyFetches(trace string) []string {
	var out []string
	for _, line := range strings.Split(trace, "\n") {
		f := traceFields(line)
		if len(f) > 2 && strings.EqualFold(f[1], "UID") && strings.EqualFold(f[2], "FETCH") &&
			(strings.Contains(line, "BODY.PEEK[]") || strings.Contains(line, "BODY[]") || strings.Contains(line, "BODY.PEEK[TEXT]")) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}
