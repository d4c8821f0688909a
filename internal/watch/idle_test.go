package watch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/testkit/imapfake"
)

// fakeServer starts an imapfake server with IDLE and an INBOX.
func fakeServer(t *testing.T, caps string) *imapfake.Server {
	s := imapfake.StartWith(t, func(s *imapfake.Server) { s.Caps = caps })
	s.AddMailbox("INBOX", "Subject: one\r\n\r\nx\r\n")
	return s
}

// dialFake logs in to s; dials counts the tries.
func dialFake(s *imapfake.Server, dials *atomic.Int32) Dialer {
	return func(ctx context.Context, h *imapclient.UnilateralDataHandler) (*imapclient.Client, error) {
		if dials != nil {
			dials.Add(1)
		}
		c, err := imapclient.DialInsecure(fmt.Sprintf("127.0.0.1:%d", s.Port), &imapclient.Options{UnilateralDataHandler: h})
		if err != nil {
			return nil, err
		}
		if err := c.Login("u", "p").Wait(); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
}

// runIdle runs w until the test ends and returns its triggers and the
// channel that gets Run's result.
func runIdle(t *testing.T, w *IdleWatcher) (<-chan Trigger, context.CancelFunc, chan error) {
	out := make(chan Trigger, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done: // a test that took the result put it back
		case <-time.After(5 * time.Second):
			t.Error("IdleWatcher.Run did not return after cancel")
		}
	})
	return out, cancel, done
}

func expect(t *testing.T, out <-chan Trigger, full bool, folders []string, src Source) {
	t.Helper()
	select {
	case tr := <-out:
		if tr.Target != "ch" || tr.Full != full || tr.Source != src || !full && !slices.Equal(tr.Folders, folders) {
			t.Fatalf("trigger %+v, want full %v folders %q source %s", tr, full, folders, src)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s trigger within 5s", src)
	}
}

func expectNone(t *testing.T, out <-chan Trigger, within time.Duration) {
	t.Helper()
	select {
	case tr := <-out:
		t.Fatalf("unexpected trigger %+v", tr)
	case <-time.After(within):
	}
}

func TestIdleWatcherReportsServerChanges(t *testing.T) {
	tests := []struct {
		name    string
		push    func(s *imapfake.Server)
		trigger bool
	}{
		{"a new message (EXISTS)", func(s *imapfake.Server) { s.Deliver("INBOX", "Subject: two\r\n\r\ny\r\n") }, true},
		{"a message expunged", func(s *imapfake.Server) { s.Push("INBOX", "* 1 EXPUNGE") }, true},
		{"a flag changed (FETCH)", func(s *imapfake.Server) { s.Push("INBOX", `* 1 FETCH (FLAGS (\Seen))`) }, true},
		{"new keywords only (FLAGS)", func(s *imapfake.Server) { s.Push("INBOX", `* FLAGS (\Seen $Junk)`) }, false},
		{"a keep-alive", func(s *imapfake.Server) { s.Push("INBOX", "* OK Still here") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := fakeServer(t, "IDLE LIST-STATUS UIDPLUS")
			out, _, _ := runIdle(t, &IdleWatcher{Target: "ch", Folder: "INBOX", Dial: dialFake(s, nil)})
			expect(t, out, false, []string{"INBOX"}, SourceConnect) // catch up on what came before the EXAMINE
			if err := s.WaitIdling("INBOX", 1, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			tc.push(s)
			if tc.trigger {
				expect(t, out, false, []string{"INBOX"}, SourceIdle)
			} else {
				expectNone(t, out, 200*time.Millisecond)
			}
			// the connection still idles and reports
			s.Deliver("INBOX", "Subject: three\r\n\r\nz\r\n")
			expect(t, out, false, []string{"INBOX"}, SourceIdle)
		})
	}
}

func TestIdleWatcherReconnects(t *testing.T) {
	s := fakeServer(t, "IDLE")
	var dials atomic.Int32
	w := &IdleWatcher{Target: "ch", Folder: "INBOX", Dial: dialFake(s, &dials), BackoffMin: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond}
	out, _, _ := runIdle(t, w)
	expect(t, out, false, []string{"INBOX"}, SourceConnect)
	for round := 1; round <= 3; round++ {
		if err := s.WaitIdling("INBOX", 1, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		s.DropConnections() // the server restarts
		// back: a full pass, for what changed while nobody was looking
		expect(t, out, true, nil, SourceConnect)
		if err := s.WaitIdling("INBOX", 1, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		s.Deliver("INBOX", "Subject: after\r\n\r\nx\r\n")
		expect(t, out, false, []string{"INBOX"}, SourceIdle)
	}
	if n := dials.Load(); n != 4 {
		t.Fatalf("%d dials for 3 drops, want 4", n)
	}
}

func TestIdleWatcherBacksOffWhileTheServerIsAway(t *testing.T) {
	s := fakeServer(t, "IDLE")
	var tries atomic.Int32
	var stamps []time.Time
	stampc := make(chan time.Time, 16)
	real := dialFake(s, nil)
	dial := func(ctx context.Context, h *imapclient.UnilateralDataHandler) (*imapclient.Client, error) {
		stampc <- time.Now()
		if tries.Add(1) <= 3 {
			return nil, errors.New("connection refused")
		}
		return real(ctx, h)
	}
	logged := make(chan string, 16)
	w := &IdleWatcher{Target: "ch", Folder: "INBOX", Dial: dial, BackoffMin: 40 * time.Millisecond, BackoffMax: time.Second,
		Log: func(f string, a ...any) { logged <- fmt.Sprintf(f, a...) }}
	out, _, _ := runIdle(t, w)
	expect(t, out, false, []string{"INBOX"}, SourceConnect)
	for len(stampc) > 0 {
		stamps = append(stamps, <-stampc)
	}
	if len(stamps) != 4 {
		t.Fatalf("%d dials, want 4", len(stamps))
	}
	// waits of at least 20, 40, 80 ms (half the nominal 40, 80, 160)
	for i, min := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond} {
		if gap := stamps[i+1].Sub(stamps[i]); gap < min {
			t.Fatalf("wait %d was %v, want at least %v", i+1, gap, min)
		}
	}
	if len(logged) != 3 {
		t.Fatalf("%d log lines for 3 failures", len(logged))
	}
}

func TestIdleWatcherWithoutIdle(t *testing.T) {
	s := fakeServer(t, "LIST-STATUS UIDPLUS")
	out, _, done := runIdle(t, &IdleWatcher{Target: "ch", Folder: "INBOX", Dial: dialFake(s, nil)})
	select {
	case err := <-done:
		done <- err // for the cleanup
		if !errors.Is(err, ErrNoIdle) {
			t.Fatalf("Run: %v, want ErrNoIdle", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not give up on a server without IDLE")
	}
	expectNone(t, out, 0)
}

func TestIdleWatcherRenews(t *testing.T) {
	s := fakeServer(t, "IDLE")
	out, _, _ := runIdle(t, &IdleWatcher{Target: "ch", Folder: "INBOX", Dial: dialFake(s, nil), Renew: 30 * time.Millisecond})
	expect(t, out, false, []string{"INBOX"}, SourceConnect)
	if err := s.WaitIdles(4, 5*time.Second); err != nil { // DONE and IDLE again, three times
		t.Fatal(err)
	}
	if err := s.WaitIdling("INBOX", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	s.Deliver("INBOX", "Subject: two\r\n\r\ny\r\n")
	expect(t, out, false, []string{"INBOX"}, SourceIdle)
	expectNone(t, out, 100*time.Millisecond) // renewing is no change
}

func TestIdleWatcherReconnectOnDemand(t *testing.T) {
	s := fakeServer(t, "IDLE")
	var dials atomic.Int32
	w := &IdleWatcher{Target: "ch", Folder: "INBOX", Dial: dialFake(s, &dials), BackoffMin: time.Hour}
	out, _, _ := runIdle(t, w)
	expect(t, out, false, []string{"INBOX"}, SourceConnect)
	if err := s.WaitIdling("INBOX", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	w.Reconnect() // after a wake-up: no back-off, a full pass
	expect(t, out, true, nil, SourceConnect)
	if n := dials.Load(); n != 2 {
		t.Fatalf("%d dials, want 2", n)
	}
}

func TestIdleWatcherStopsPromptly(t *testing.T) {
	s := fakeServer(t, "IDLE")
	out, cancel, done := runIdle(t, &IdleWatcher{Target: "ch", Folder: "INBOX", Dial: dialFake(s, nil)})
	expect(t, out, false, []string{"INBOX"}, SourceConnect)
	if err := s.WaitIdling("INBOX", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		done <- err // for the cleanup
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run still going 2s after cancel")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("Run took %v to stop", d)
	}
	if err := s.WaitNotIdling("INBOX", 2*time.Second); err != nil {
		t.Fatal(err) // the connection was left open
	}
}

func TestIdleWatcherLocate(t *testing.T) {
	s := fakeServer(t, "IDLE")
	s.AddMailbox("INBOX.Lists")
	located := make(chan struct{}, 4)
	w := &IdleWatcher{Target: "ch", Folder: "Lists", Dial: dialFake(s, nil),
		Locate: func(ctx context.Context, c *imapclient.Client) (string, error) {
			located <- struct{}{}
			return "INBOX.Lists", nil // the server's namespace prefix
		}}
	out, _, _ := runIdle(t, w)
	expect(t, out, false, []string{"Lists"}, SourceConnect)
	if err := s.WaitIdling("INBOX.Lists", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	s.Deliver("INBOX", "Subject: not here\r\n\r\nx\r\n") // another folder: no news
	expectNone(t, out, 100*time.Millisecond)
	s.Deliver("INBOX.Lists", "Subject: list mail\r\n\r\nx\r\n")
	expect(t, out, false, []string{"Lists"}, SourceIdle)
	if len(located) != 1 {
		t.Fatalf("Locate called %d times for one connection", len(located))
	}
}
