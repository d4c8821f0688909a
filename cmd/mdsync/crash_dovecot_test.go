package main

// Crash tests: a real mdsync process is ended abruptly (at every journal
// step through MDSYNC_FAILPOINT, and at random moments with SIGKILL); the
// next run must converge with no message lost and none duplicated.

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/maildir"
)

// killedThenConverges runs a sync that the failpoint fp ends, then one
// that must converge on want, then one that must have nothing left to do.
func (a *account) killedThenConverges(t *testing.T, fp string, want map[string][]string) {
	t.Helper()
	if code, out := a.sync(t, fp); code != failpoint.ExitCode {
		t.Fatalf("failpoint %s not reached: exit %d\n%s", fp, code, out)
	}
	a.mustSync(t)
	a.assertConverged(t, want)
	if out := a.mustSync(t); strings.TrimSpace(out) != "" {
		t.Errorf("third run still did something: %s", out)
	}
}

func sha(msg []byte) string { return dovecot.BodySHA256(msg) }

// allSteps are the journal steps of an IMAP sync.
var allSteps = []step{
	{"fetch.after-journal", true}, {"fetch.after-write", true}, {"fetch.after-commit", true},
	{"append.after-journal", false}, {"append.after-server", false}, {"append.after-server:2", false}, {"append.after-commit", false},
	{"store.after-journal", false}, {"store.after-server", false},
	{"setflags.after-rename", false},
	{"expunge.after-journal", false}, {"expunge.after-flag", false}, {"expunge.after-server", false},
	{"delete.after-unlink", false},
	{"move.after-journal", false}, {"move.after-server", false},
	{"movein.after-journal", false}, {"movein.after-rename", false},
}

// TestFailpointsLocalBatch: flag changes that reach several folders from
// the server are applied to the Maildir in batches (a transaction for the
// intents of a batch's folders, one for their outcomes); a kill at the
// 1st, 3rd or 7th rename converges on the next run, every flag where the
// server has it.
func TestFailpointsLocalBatch(t *testing.T) {
	d := dovecot.Start(t)
	for i, fp := range []string{"setflags.after-rename", "setflags.after-rename:3", "setflags.after-rename:7"} {
		t.Run(fp, func(t *testing.T) {
			a := newAccount(t, d, fmt.Sprintf("b%d", i))
			want := map[string][]string{}
			uids := map[string][]imap.UID{}
			for _, f := range []string{"INBOX", "Lists", "Work"} {
				if f != "INBOX" {
					d.CreateFolder(t, a.user, f)
				}
				for j := 0; j < 4; j++ {
					m := dovecot.GenMessage(int64(700+i), j+10*len(want), 600)
					uids[f] = append(uids[f], d.Append(t, a.user, f, m))
					want[f] = append(want[f], sha(m))
				}
			}
			a.mustSync(t)
			a.assertConverged(t, want)
			for _, f := range []string{"INBOX", "Lists", "Work"} {
				for _, u := range uids[f][:3] {
					d.SetFlags(t, a.user, f, u, imap.StoreFlagsAdd, imap.FlagFlagged)
				}
			}
			a.killedThenConverges(t, fp, want)
		})
	}
}

// TestFailpointsPrefetch: new mail in several folders is prefetched into
// tmp/ in the gather pipeline, then renamed in; a kill after the bodies
// are read (nothing journaled yet) or after the renames of a folder
// (journaled, not yet recorded) converges on the next run with every message
// once.
func TestFailpointsPrefetch(t *testing.T) {
	d := dovecot.Start(t)
	for i, fp := range []string{"prefetch.after-read", "prefetch.after-read:2", "prefetch.after-link", "prefetch.after-link:2"} {
		t.Run(fp, func(t *testing.T) {
			a := newAccount(t, d, fmt.Sprintf("p%d", i))
			want := map[string][]string{}
			folders := []string{"INBOX", "Lists", "Work"}
			for _, f := range folders {
				if f != "INBOX" {
					d.CreateFolder(t, a.user, f)
				}
				m := dovecot.GenMessage(int64(800+i), 10*len(want), 600)
				d.Append(t, a.user, f, m, imap.FlagSeen)
				want[f] = append(want[f], sha(m))
			}
			a.mustSync(t)
			a.assertConverged(t, want)
			for fi, f := range folders {
				for j := 0; j < 3; j++ {
					m := dovecot.GenMessage(int64(850+i), 10*fi+j, 600)
					d.Append(t, a.user, f, m)
					want[f] = append(want[f], sha(m))
				}
			}
			a.killedThenConverges(t, fp, want)
		})
	}
}

func TestFailpoints(t *testing.T) {
	failpointsOn(t, dovecot.Start(t), nil, allSteps)
}

// TestFailpointsOnProfiles: the steps where servers differ (uploads without
// MOVE, expunges, flag stores, downloads) on Dovecot set up like Exchange /
// Microsoft 365 (no CONDSTORE, QRESYNC, MOVE) and with Courier's
// capabilities (no LIST-STATUS, CONDSTORE, ESEARCH, MOVE).
func TestFailpointsOnProfiles(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	steps := []step{{"fetch.after-write", true}, {"append.after-server", false}, {"store.after-server", false},
		{"expunge.after-flag", false}, {"move.after-server", false}}
	for name, caps := range map[string]string{
		"exchange": "IMAP4 IMAP4rev1 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+",
		"courier":  "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT SORT QUOTA IDLE",
	} {
		t.Run(name, func(t *testing.T) {
			failpointsOn(t, dovecot.Start(t, dovecot.WithConfig("imap_capability = "+caps)), nil, steps)
		})
	}
	// Courier's login hand-over (what comes with the login is lost),
	// through a proxy
	t.Run("courier-login", func(t *testing.T) {
		failpointsOn(t, dovecot.Start(t), &dovecot.ProxyRules{DropAfterLogin: true}, steps)
	})
	// GNU imap4d's PERMANENTFLAGS, through a proxy
	t.Run("imap4d", func(t *testing.T) {
		rules := dovecot.IMAP4dRules()
		failpointsOn(t, dovecot.Start(t), &rules, steps)
	})
}

// step is a failpoint and whether it is reached in a first sync.
type step struct {
	fp      string
	initial bool // the failpoint is in the first sync (fetch)
}

// failpointsOn kills a sync at each step and checks that the next run
// converges with nothing lost or duplicated.
func failpointsOn(t *testing.T, d *dovecot.Server, proxy *dovecot.ProxyRules, steps []step) {
	port := d.IMAPPort
	if proxy != nil {
		port = dovecot.StartIMAPProxy(t, d.IMAPAddr(), *proxy).Port
	}
	for i, st := range steps {

		t.Run(st.fp, func(t *testing.T) {
			a := newAccountAt(t, d, fmt.Sprintf("u%d", i), port)
			var inbox []string
			var uids []imap.UID
			for j := 0; j < 10; j++ {
				m := dovecot.GenMessage(int64(100+i), j, 700)
				uids = append(uids, d.Append(t, a.user, "INBOX", m))
				inbox = append(inbox, sha(m))
			}
			d.CreateFolder(t, a.user, "Archive")
			want := map[string][]string{"INBOX": inbox, "Archive": {}}
			if !st.initial {
				a.mustSync(t)
				a.assertConverged(t, want)
				// changes on both sides
				store, _ := maildir.OpenWith(a.root, maildir.Options{Layout: maildir.Verbatim})
				lin, _ := store.Folder("INBOX", '/')
				larch, _ := store.Folder("Archive", '/')
				msgs, _, _ := lin.Scan()
				bySHA := map[string]maildir.Message{}
				for _, m := range msgs {
					b, _ := os.ReadFile(m.Path(lin))
					bySHA[sha(b)] = m
				}
				for j := 0; j < 3; j++ {
					m := dovecot.GenMessage(int64(200+i), j, 500)
					d.Append(t, a.user, "INBOX", m, imap.FlagSeen)
					want["INBOX"] = append(want["INBOX"], sha(m))
					lm := dovecot.GenMessage(int64(300+i), j, 600)
					if _, err := lin.Deliver(bytes.NewReader(lm), maildir.DeliverOpts{Flags: "S"}); err != nil {
						t.Fatal(err)
					}
					want["INBOX"] = append(want["INBOX"], sha(lm))
				}
				d.SetFlags(t, a.user, "INBOX", uids[0], imap.StoreFlagsAdd, imap.FlagFlagged)
				d.SetFlags(t, a.user, "INBOX", uids[1], imap.StoreFlagsAdd, imap.FlagAnswered)
				d.Expunge(t, a.user, "INBOX", uids[2])
				d.Move(t, a.user, "INBOX", "Archive", uids[9]) // another client files one
				lin.SetFlags(bySHA[inbox[3]], "FS")
				lin.SetFlags(bySHA[inbox[4]], "S")
				lin.Remove(bySHA[inbox[5]])
				lin.Remove(bySHA[inbox[6]])
				lin.MoveTo(bySHA[inbox[7]], larch)
				lin.MoveTo(bySHA[inbox[8]], larch)
				keep := []string{}
				for _, s := range want["INBOX"] {
					if s != inbox[2] && s != inbox[5] && s != inbox[6] && s != inbox[7] && s != inbox[8] && s != inbox[9] {
						keep = append(keep, s)
					}
				}
				want["INBOX"] = keep
				want["Archive"] = []string{inbox[7], inbox[8], inbox[9]}
			}
			a.killedThenConverges(t, st.fp, want)
			a.assertConverged(t, want) // the third run changed nothing either
		})
	}
}

// TestRandomKills SIGKILLs real mdsync runs at random moments while they
// sync a few thousand messages each way, 20 times, then lets one finish.
func TestRandomKills(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	d := dovecot.Start(t)
	a := newAccount(t, d, "killme")
	const n = 1500
	var srv, loc [][]byte
	want := map[string][]string{}
	for i := 0; i < n; i++ {
		m := dovecot.GenMessage(7, i, 800)
		srv = append(srv, m)
		want["INBOX"] = append(want["INBOX"], sha(m))
	}
	d.BulkLoad(t, a.user, "INBOX", srv)
	store, err := maildir.OpenWith(a.root, maildir.Options{Layout: maildir.Verbatim})
	if err != nil {
		t.Fatal(err)
	}
	lf, err := store.CreateFolder("Sent", '/')
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		m := dovecot.GenMessage(8, i, 800)
		loc = append(loc, m)
		want["Sent"] = append(want["Sent"], sha(m))
		if _, err := lf.Deliver(bytes.NewReader(m), maildir.DeliverOpts{Flags: "S", NoDirSync: true}); err != nil {
			t.Fatal(err)
		}
	}
	lf.SyncDirs()
	r := rand.New(rand.NewSource(42))
	killed := 0
	for i := 0; i < 20; i++ {
		if i > 0 { // more work each way for every run
			var more [][]byte
			for j := 0; j < 100; j++ {
				m := dovecot.GenMessage(int64(1000+i), j, 800)
				more = append(more, m)
				want["INBOX"] = append(want["INBOX"], sha(m))
				lm := dovecot.GenMessage(int64(2000+i), j, 800)
				want["Sent"] = append(want["Sent"], sha(lm))
				if _, err := lf.Deliver(bytes.NewReader(lm), maildir.DeliverOpts{Flags: "S", NoDirSync: true}); err != nil {
					t.Fatal(err)
				}
			}
			lf.SyncDirs()
			d.AppendMany(t, a.user, "INBOX", more)
		}
		cmd := exec.Command(binary, "--config", a.conf, "-q", "sync")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// a random moment of the run
		timer := time.AfterFunc(time.Duration(r.Intn(300)+5)*time.Millisecond, func() { cmd.Process.Kill() })
		err := cmd.Wait()
		if timer.Stop() {
			// finished before the kill: fine, but it must have succeeded
			if err != nil {
				t.Fatalf("run %d failed: %v\n%s", i, err, out.String())
			}
		} else {
			killed++
		}
		// at no moment may either side hold a duplicate
		if dup := dovecot.Duplicates(d.ServerState(t, a.user)); len(dup) > 0 {
			t.Fatalf("after kill %d: duplicates on the server: %v", i, dup[:min(5, len(dup))])
		}
		if dup := dovecot.Duplicates(dovecot.LocalState(t, a.root)); len(dup) > 0 {
			t.Fatalf("after kill %d: duplicates locally: %v", i, dup[:min(5, len(dup))])
		}
	}
	t.Logf("%d of 20 runs were killed mid-sync", killed)
	if killed < 5 { // the kill moments are random; most runs are cut, a few may finish first

		t.Errorf("only %d runs were killed; the test did not exercise crashes", killed)
	}
	a.mustSync(t)
	a.assertConverged(t, want)
}
