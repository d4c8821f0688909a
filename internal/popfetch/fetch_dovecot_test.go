package popfetch

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/state"
)

const dovePass = "secret"

func genMsgs(seed int64, from, n, size int) [][]byte {
	var out [][]byte
	for i := from; i < from+n; i++ {
		out = append(out, dovecot.GenMessage(seed, i, size))
	}
	return out
}

// doveEnv is a local side pointed at user on d, over the given transport.
func doveEnv(t *testing.T, d *dovecot.Server, user string, tlsMode mailnet.TLSMode) *env {
	t.Helper()
	d.AddUser(t, user, dovePass)
	e := newEnv(t, "", d.POP3Port)
	e.opts.User = user
	e.opts.TLS = tlsMode
	if tlsMode == mailnet.TLSImplicit {
		e.opts.Port = d.POP3SPort
	}
	if tlsMode != mailnet.TLSNone {
		ca := filepath.Join(e.dir, "ca.pem")
		if err := os.WriteFile(ca, d.CACertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		e.opts.CAFile = ca
	}
	return e
}

func serverCount(t *testing.T, d *dovecot.Server, user string) int {
	t.Helper()
	return len(d.SnapshotFolder(t, user, "INBOX"))
}

// TestDovecotFetch: against a real POP3 server, plain, POP3S and STLS with
// the test CA: 100 messages fetched once and intact, a second run fetches 0,
// 5 new ones are fetched as 5, delete = never leaves all on the server.
func TestDovecotFetch(t *testing.T) {
	d := dovecot.Start(t)
	for i, mode := range []mailnet.TLSMode{mailnet.TLSNone, mailnet.TLSImplicit, mailnet.TLSStartTLS} {
		t.Run(mode.String(), func(t *testing.T) {
			user := "fetch" + mode.String()
			e := doveEnv(t, d, user, mode)
			seed := int64(100 + i)
			msgs := genMsgs(seed, 0, 100, 3000)
			d.BulkLoad(t, user, "INBOX", msgs)
			if res := e.mustRun(t, dovePass); res.Fetched != 100 || res.NoUIDL {
				t.Fatalf("first run: %+v", res)
			}
			e.checkExactly(t, msgs)
			if res := e.mustRun(t, dovePass); res.Fetched != 0 || res.Deleted != 0 || res.Pruned != 0 {
				t.Fatalf("second run: %+v", res)
			}
			more := genMsgs(seed, 100, 5, 3000)
			d.BulkLoad(t, user, "INBOX", more)
			if res := e.mustRun(t, dovePass); res.Fetched != 5 {
				t.Fatalf("third run: %+v", res)
			}
			e.checkExactly(t, append(msgs, more...))
			if n := serverCount(t, d, user); n != 105 {
				t.Errorf("server holds %d, want 105 (delete = never)", n)
			}
			if n := len(e.seen(t)); n != 105 {
				t.Errorf("%d UIDLs recorded", n)
			}
		})
	}
	t.Run("untrusted-cert", func(t *testing.T) {
		e := doveEnv(t, d, "nocert", mailnet.TLSImplicit)
		e.opts.CAFile = ""
		if _, err := e.run(t, dovePass); !errors.Is(err, mailnet.ErrTLS) {
			t.Fatalf("self-signed certificate without ca_file: %v, want ErrTLS", err)
		}
	})
}

// TestDovecotDelete: after-fetch empties the server, after:14d deletes only
// what was first seen at least 14 days ago, and UIDLs that vanish from the
// server are pruned from the state.
func TestDovecotDelete(t *testing.T) {
	d := dovecot.Start(t)

	t.Run("after-fetch", func(t *testing.T) {
		e := doveEnv(t, d, "afterfetch", mailnet.TLSNone)
		e.opts.Delete = DeletePolicy{Enabled: true}
		msgs := genMsgs(7, 0, 20, 1500)
		d.BulkLoad(t, "afterfetch", "INBOX", msgs)
		res := e.mustRun(t, dovePass)
		if res.Fetched != 20 || res.Deleted != 20 {
			t.Fatalf("run: %+v", res)
		}
		if n := serverCount(t, d, "afterfetch"); n != 0 {
			t.Errorf("server holds %d after after-fetch", n)
		}
		for u, s := range e.seen(t) {
			if s.Status != state.POPDeleted {
				t.Errorf("uidl %s status %q", u, s.Status)
			}
		}
		res = e.mustRun(t, dovePass)
		if res.Fetched != 0 || res.Pruned != 20 || len(e.seen(t)) != 0 {
			t.Fatalf("rerun: %+v, %d UIDLs left", res, len(e.seen(t)))
		}
		e.checkExactly(t, msgs)
	})

	t.Run("after-14d", func(t *testing.T) {
		e := doveEnv(t, d, "after14", mailnet.TLSNone)
		e.opts.Delete = DeletePolicy{Enabled: true, After: 14 * 24 * time.Hour}
		t0 := time.Now().Truncate(time.Second)
		at := func(days int) *Fetcher {
			o := e.options(dovePass)
			o.Now = func() time.Time { return t0.Add(time.Duration(days) * 24 * time.Hour) }
			return New(o)
		}
		old := genMsgs(8, 0, 10, 1500)
		d.BulkLoad(t, "after14", "INBOX", old)
		if res, err := at(0).Run(t.Context()); err != nil || res.Fetched != 10 || res.Deleted != 0 {
			t.Fatalf("day 0: %+v %v", res, err)
		}
		newer := genMsgs(8, 10, 5, 1500)
		d.BulkLoad(t, "after14", "INBOX", newer)
		if res, err := at(10).Run(t.Context()); err != nil || res.Fetched != 5 || res.Deleted != 0 {
			t.Fatalf("day 10: %+v %v", res, err)
		}
		if res, err := at(13).Run(t.Context()); err != nil || res.Deleted != 0 {
			t.Fatalf("day 13: %+v %v", res, err)
		}
		if res, err := at(14).Run(t.Context()); err != nil || res.Fetched != 0 || res.Deleted != 10 {
			t.Fatalf("day 14: %+v %v", res, err)
		}
		if n := serverCount(t, d, "after14"); n != 5 {
			t.Errorf("server holds %d, want the 5 newer", n)
		}
		if res, err := at(15).Run(t.Context()); err != nil || res.Pruned != 10 || res.Deleted != 0 || res.Fetched != 0 {
			t.Fatalf("day 15: %+v %v", res, err)
		}
		if res, err := at(24).Run(t.Context()); err != nil || res.Deleted != 5 {
			t.Fatalf("day 24: %+v %v", res, err)
		}
		e.checkExactly(t, append(old, newer...))
	})

	t.Run("prune-vanished", func(t *testing.T) {
		e := doveEnv(t, d, "prune", mailnet.TLSNone)
		msgs := genMsgs(9, 0, 10, 1500)
		d.BulkLoad(t, "prune", "INBOX", msgs)
		e.mustRun(t, dovePass)
		snap := d.SnapshotFolder(t, "prune", "INBOX")
		d.Expunge(t, "prune", "INBOX", []imap.UID{snap[0].UID, snap[4].UID, snap[9].UID}...)
		res := e.mustRun(t, dovePass)
		if res.Pruned != 3 || res.Fetched != 0 || len(e.seen(t)) != 7 {
			t.Fatalf("run after expunge: %+v, %d UIDLs", res, len(e.seen(t)))
		}
		e.checkExactly(t, msgs)
	})
}
