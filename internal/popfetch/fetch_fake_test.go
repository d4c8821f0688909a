package popfetch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

func fakeMsgs(seed int64, n, size int) []fakeMsg {
	var out []fakeMsg
	for i := 0; i < n; i++ {
		out = append(out, fakeMsg{uidl: fmt.Sprintf("uid-%d-%d", seed, i), data: dovecot.GenMessage(seed, i, size)})
	}
	return out
}

func datas(ms []fakeMsg) [][]byte {
	var out [][]byte
	for _, m := range ms {
		out = append(out, m.data)
	}
	return out
}

// longLineMsg has a 5,000-octet body line and dot-stuffed lines.
func longLineMsg() fakeMsg {
	body := "From: a@example.org\r\nTo: b@example.org\r\nSubject: long\r\nMessage-ID: <long@example.org>\r\n\r\n" +
		strings.Repeat("x", 5000) + "\r\n.\r\n..two\r\n.\r\nlast\r\n"
	return fakeMsg{uidl: "long", data: []byte(body)}
}

// TestFakeFetchOnce: every message arrives intact (dot-stuffing undone, a
// 5,000-octet line whole), exactly once, with and without UIDL, with and
// without CAPA, with USER/PASS and APOP; a second run fetches nothing.
func TestFakeFetchOnce(t *testing.T) {
	cases := []struct {
		name   string
		noUIDL bool
		noCapa bool
		auth   Auth
	}{
		{"uidl", false, false, AuthAuto},
		{"no-uidl", true, false, AuthAuto},
		{"no-capa", false, true, AuthAuto},
		{"apop", false, false, AuthAPOP},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msgs := append(fakeMsgs(1, 6, 3000), longLineMsg())
			s := startFake(t, msgs)
			s.noUIDL, s.noCapa = c.noUIDL, c.noCapa
			e := newEnv(t, "", s.port())
			e.opts.Auth = c.auth
			res := e.mustRun(t, "p")
			if res.Fetched != 7 || res.NoUIDL != c.noUIDL {
				t.Fatalf("first run: %+v", res)
			}
			nw := 0
			for _, w := range res.Warnings {
				if strings.Contains(w, "no UIDL") {
					nw++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[c.noUIDL]; nw != want {
				t.Errorf("no-UIDL warnings: %d, want %d (%q)", nw, want, res.Warnings)
			}
			e.checkExactly(t, datas(msgs))
			if n := len(e.seen(t)); n != 7 {
				t.Errorf("%d UIDLs recorded", n)
			}
			if c.noUIDL {
				for u := range e.seen(t) {
					if !strings.HasPrefix(u, "fp:") {
						t.Errorf("uidl %q is not a fingerprint", u)
					}
				}
			}
			res = e.mustRun(t, "p")
			if res.Fetched != 0 {
				t.Fatalf("second run fetched %d", res.Fetched)
			}
			e.checkExactly(t, datas(msgs))
		})
	}
}

// TestFakeBadServer: a message that fails midway leaves no file in new/ or
// tmp/, the state records exactly what was delivered, the error is clear
// (and temporary for transport failures), and the next run against a
// healthy server ends with every message exactly once.
func TestFakeBadServer(t *testing.T) {
	cases := []struct {
		name      string
		fault     fault
		temporary bool // the error wraps mailnet.ErrTemporary
		continues bool // the other messages are still fetched in that run
		want      string
	}{
		{"err", faultErr, false, true, "message locked"},
		{"short", faultShort, false, true, "shorter than announced"},
		{"truncated", faultTruncate, true, false, "unexpected EOF"},
		{"err-mid-body", faultErrMid, true, false, "unexpected EOF"},
		{"dropped", faultDrop, true, false, "uidl uid-2-2"},
		{"no-dot", faultNoDot, true, false, "timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msgs := fakeMsgs(2, 5, 200_000)
			s := startFake(t, msgs)
			s.setFault(msgs[2].uidl, c.fault)
			e := newEnv(t, "", s.port())
			e.opts.Timeout = 300 * time.Millisecond // the no-dot server stalls
			res, err := e.run(t, "p")
			if err == nil {
				t.Fatalf("no error; result %+v", res)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "uidl "+msgs[2].uidl) {
				t.Errorf("error %q does not say %q and which message", err, c.want)
			}
			if got := errors.Is(err, mailnet.ErrTemporary); got != c.temporary {
				t.Errorf("errors.Is(err, ErrTemporary) = %v, want %v (%v)", got, c.temporary, err)
			}
			wantN := 2
			if c.continues {
				wantN = 4
			}
			if res.Fetched != wantN || e.countDir(t, "new") != wantN || len(e.seen(t)) != wantN {
				t.Errorf("fetched %d, files %d, recorded %d; want %d", res.Fetched, e.countDir(t, "new"), len(e.seen(t)), wantN)
			}
			if _, ok := e.seen(t)[msgs[2].uidl]; ok {
				t.Error("the failed message is recorded")
			}
			if n := e.countDir(t, "tmp"); n != 0 {
				t.Errorf("%d partial files in tmp/", n)
			}
			if j := e.journal(t); len(j) != 0 {
				t.Errorf("journal left: %+v", j)
			}
			failedID := msgIDRe.FindSubmatch(msgs[2].data)[1]
			for _, b := range e.files(t) {
				if m := msgIDRe.FindSubmatch(b); m == nil || string(m[1]) == string(failedID) {
					t.Error("the failed message was delivered (or a file has no Message-ID)")
				}
			}

			s.setFault(msgs[2].uidl, faultNone)
			res = e.mustRun(t, "p")
			if res.Fetched != 5-wantN {
				t.Errorf("resumed run fetched %d, want %d", res.Fetched, 5-wantN)
			}
			e.checkExactly(t, datas(msgs))
		})
	}
}

// TestFakeLimits: max_size skips (and fetches once raised), max_messages
// fetches at most N per run, a dry run plans without changing anything, a
// refused login is ErrAuth, a server without STLS fails tls = "starttls".
func TestFakeLimits(t *testing.T) {
	msgs := fakeMsgs(3, 6, 2000)
	msgs[1].data = dovecot.GenMessage(3, 1, 50_000)
	msgs[4].data = dovecot.GenMessage(3, 4, 60_000)
	s := startFake(t, msgs)
	e := newEnv(t, "", s.port())

	e.opts.Delete = DeletePolicy{Enabled: true}
	dry := e.options("p")
	dry.DryRun = true
	res, err := New(dry).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan) != 12 || res.Plan[0] != fmt.Sprintf("fetch 1 (uidl %s, %d bytes)", msgs[0].uidl, len(msgs[0].data)) ||
		res.Plan[6] != "delete 1 (uidl "+msgs[0].uidl+")" {
		t.Errorf("plan: %q", res.Plan)
	}
	if e.countDir(t, "new") != 0 || len(e.seen(t)) != 0 || s.count() != 6 || s.retrCount() != 0 {
		t.Fatal("dry run changed something")
	}
	e.opts.Delete = DeletePolicy{}

	e.opts.MaxSize = 10_000
	e.opts.MaxMessages = 3
	res = e.mustRun(t, "p")
	if res.Fetched != 3 || res.Skipped != 2 || res.Remaining != 1 || len(res.Warnings) != 2 {
		t.Fatalf("limited run: %+v", res)
	}
	res = e.mustRun(t, "p")
	if res.Fetched != 1 || res.Skipped != 2 || res.Remaining != 0 {
		t.Fatalf("second limited run: %+v", res)
	}
	e.opts.MaxSize, e.opts.MaxMessages = 0, 0
	res = e.mustRun(t, "p")
	if res.Fetched != 2 || res.Skipped != 0 {
		t.Fatalf("raised limit: %+v", res)
	}
	e.checkExactly(t, datas(msgs))

	if _, err := e.run(t, "wrong"); !errors.Is(err, mailnet.ErrAuth) {
		t.Errorf("wrong password: %v, want ErrAuth", err)
	}
	e.opts.TLS = mailnet.TLSStartTLS
	if _, err := e.run(t, "p"); err == nil || !strings.Contains(err.Error(), "STLS") {
		t.Errorf("starttls against a server without STLS: %v", err)
	}
	e.opts.TLS = mailnet.TLSNone
	e.opts.Port = 1 // nothing listens there
	if _, err := e.run(t, "p"); !errors.Is(err, mailnet.ErrTemporary) {
		t.Errorf("unreachable: %v, want ErrTemporary", err)
	}
}

// TestFakeCleansTmp: a run that delivers into the folder removes what
// interrupted deliveries left in its tmp/ more than 36 hours ago, and
// nothing younger.
func TestFakeCleansTmp(t *testing.T) {
	s := startFake(t, fakeMsgs(1, 2, 500))
	e := newEnv(t, "", s.port())
	tmp := filepath.Join(e.inbox(), "tmp")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(e.inbox(), sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	check := dovecot.LeftInTmp(t, tmp)
	if res := e.mustRun(t, "p"); res.Fetched != 2 {
		t.Fatalf("fetched %d, want 2", res.Fetched)
	}
	check()
}
