package watch

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// harness runs a Loop whose passes block until the test releases them.
type harness struct {
	t       *testing.T
	in      chan Trigger
	started chan Pass
	release chan error // the result of the pass in flight
	reports chan Report
	running atomic.Int32
	overlap atomic.Bool
	ctxErr  chan error // the pass context's error when the pass returned
	cancel  context.CancelFunc
	done    chan error
}

func startLoop(t *testing.T, l *Loop) *harness {
	h := &harness{t: t, in: make(chan Trigger), started: make(chan Pass, 16), release: make(chan error),
		reports: make(chan Report, 16), ctxErr: make(chan error, 16), done: make(chan error, 1)}
	l.Run = func(ctx context.Context, p Pass) (PassResult, error) {
		if h.running.Add(1) > 1 {
			h.overlap.Store(true)
		}
		defer h.running.Add(-1)
		h.started <- p
		var err error
		select {
		case err = <-h.release:
		case <-ctx.Done():
			err = ctx.Err()
		}
		h.ctxErr <- ctx.Err()
		return PassResult{Counts: map[string]int{"fetched": p.Seq}, Temporary: err != nil}, err
	}
	l.OnPass = func(r Report) { h.reports <- r }
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- l.Serve(ctx, h.in) }()
	t.Cleanup(func() {
		cancel()
		<-h.done
		if h.overlap.Load() {
			t.Error("two passes ran at once")
		}
	})
	return h
}

const wait = 5 * time.Second

func (h *harness) send(tr Trigger) {
	h.t.Helper()
	select {
	case h.in <- tr:
	case <-time.After(wait):
		h.t.Fatalf("the loop took no trigger within %v", wait)
	}
}

func (h *harness) pass() Pass {
	h.t.Helper()
	select {
	case p := <-h.started:
		return p
	case <-time.After(wait):
		h.t.Fatalf("no pass started within %v", wait)
	}
	return Pass{}
}

func (h *harness) noPass(within time.Duration) {
	h.t.Helper()
	select {
	case p := <-h.started:
		h.t.Fatalf("unexpected pass %+v", p)
	case <-time.After(within):
	}
}

func (h *harness) finish(err error) Report {
	h.t.Helper()
	select {
	case h.release <- err:
	case <-time.After(wait):
		h.t.Fatalf("no pass to finish within %v", wait)
	}
	select {
	case r := <-h.reports:
		return r
	case <-time.After(wait):
		h.t.Fatalf("no report within %v", wait)
	}
	return Report{}
}

func samePass(t *testing.T, got Pass, target string, full bool, folders []string, sources []Source) {
	t.Helper()
	if got.Target != target || got.Full != full || !slices.Equal(got.Folders, folders) || !slices.Equal(got.Sources, sources) {
		t.Fatalf("pass = {target %q full %v folders %q sources %q}, want {%q %v %q %q}",
			got.Target, got.Full, got.Folders, got.Sources, target, full, folders, sources)
	}
}

func TestLoopMergesWhileRunning(t *testing.T) {
	tests := []struct {
		name     string
		during   []Trigger // sent while the first pass runs
		want     []Pass    // the passes after it, in order
		wantNone bool
	}{
		{
			name:   "folders of one target merge, sorted and unique",
			during: []Trigger{{Target: "a", Folders: []string{"Sent"}, Source: SourceLocal}, {Target: "a", Folders: []string{"INBOX"}, Source: SourceIdle}, {Target: "a", Folders: []string{"Sent"}, Source: SourceLocal}},
			want:   []Pass{{Target: "a", Folders: []string{"INBOX", "Sent"}, Sources: []Source{SourceIdle, SourceLocal}}},
		},
		{
			name:   "a full trigger absorbs folders",
			during: []Trigger{{Target: "a", Folders: []string{"INBOX"}, Source: SourceIdle}, {Target: "a", Full: true, Source: SourcePoll}},
			want:   []Pass{{Target: "a", Full: true, Sources: []Source{SourceIdle, SourcePoll}}},
		},
		{
			name:   "targets take turns in the order they asked",
			during: []Trigger{{Target: "b", Full: true, Source: SourcePoll}, {Target: "a", Folders: []string{"INBOX"}, Source: SourceIdle}, {Target: "b", Folders: []string{"x"}, Source: SourceLocal}},
			want: []Pass{
				{Target: "b", Full: true, Sources: []Source{SourceLocal, SourcePoll}},
				{Target: "a", Folders: []string{"INBOX"}, Sources: []Source{SourceIdle}},
			},
		},
		{
			name:     "a trigger that names nothing is no pass",
			during:   []Trigger{{Target: "a", Source: SourceIdle}},
			wantNone: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startLoop(t, &Loop{})
			h.send(Trigger{Target: "first", Full: true, Source: SourceStart})
			first := h.pass()
			samePass(t, first, "first", true, nil, []Source{SourceStart})
			for _, tr := range tc.during {
				h.send(tr)
			}
			h.noPass(50 * time.Millisecond) // nothing starts while one runs
			h.finish(nil)
			for i, w := range tc.want {
				p := h.pass()
				samePass(t, p, w.Target, w.Full, w.Folders, w.Sources)
				if p.Seq != i+2 {
					t.Fatalf("pass %d has Seq %d", i+2, p.Seq)
				}
				h.finish(nil)
			}
			if tc.wantNone {
				h.noPass(50 * time.Millisecond)
			}
		})
	}
}

func TestLoopSettleMergesABurst(t *testing.T) {
	h := startLoop(t, &Loop{Settle: 100 * time.Millisecond})
	start := time.Now()
	h.send(Trigger{Target: "a", Folders: []string{"INBOX"}, Source: SourceIdle})
	h.send(Trigger{Target: "a", Folders: []string{"INBOX"}, Source: SourceIdle})
	h.send(Trigger{Target: "a", Folders: []string{"Archive"}, Source: SourceIdle})
	p := h.pass()
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Fatalf("the pass started after %v, before the settle time", waited)
	}
	samePass(t, p, "a", false, []string{"Archive", "INBOX"}, []Source{SourceIdle})
	h.finish(nil)
	h.noPass(150 * time.Millisecond)
}

func TestLoopRetriesAFailedPass(t *testing.T) {
	h := startLoop(t, &Loop{RetryMin: 200 * time.Millisecond, RetryMax: 200 * time.Millisecond})
	h.send(Trigger{Target: "a", Folders: []string{"INBOX"}, Source: SourceIdle})
	h.pass()
	failedAt := time.Now()
	r := h.finish(errors.New("server away"))
	if r.Err == nil || r.RetryIn < 100*time.Millisecond || r.RetryIn > 200*time.Millisecond {
		t.Fatalf("report of the failed pass: err %v, retry in %v", r.Err, r.RetryIn)
	}
	// a local change during the back-off waits for it
	h.send(Trigger{Target: "a", Folders: []string{"Sent"}, Source: SourceLocal})
	p := h.pass()
	if waited := time.Since(failedAt); waited < r.RetryIn-10*time.Millisecond {
		t.Fatalf("retried after %v, before the back-off of %v", waited, r.RetryIn)
	}
	samePass(t, p, "a", false, []string{"INBOX", "Sent"}, []Source{SourceLocal, SourceRetry})
	h.finish(nil)
	h.noPass(300 * time.Millisecond) // the retry was the pass: no second one
}

func TestLoopUrgentTriggerEndsBackoff(t *testing.T) {
	h := startLoop(t, &Loop{RetryMin: time.Hour, RetryMax: time.Hour})
	h.send(Trigger{Target: "a", Full: true, Source: SourcePoll})
	h.pass()
	h.finish(errors.New("server away"))
	h.send(Trigger{Target: "a", Full: true, Source: SourceConnect}) // the server is back
	p := h.pass()
	samePass(t, p, "a", true, nil, []Source{SourceConnect, SourceRetry})
	h.finish(nil)
}

func TestLoopCancelStopsThePassInFlight(t *testing.T) {
	h := startLoop(t, &Loop{})
	h.send(Trigger{Target: "a", Full: true, Source: SourceStart})
	h.pass()
	h.send(Trigger{Target: "b", Full: true, Source: SourcePoll}) // waiting: dropped
	h.cancel()
	select {
	case err := <-h.ctxErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the pass's context: %v, want cancelled", err)
		}
	case <-time.After(wait):
		t.Fatal("the pass in flight was not cancelled")
	}
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return")
	}
	select {
	case r := <-h.reports:
		if r.Pass.Target != "a" || r.Err == nil {
			t.Fatalf("report %+v, want the cancelled pass of a", r)
		}
	default:
		t.Fatal("the cancelled pass was not reported")
	}
	h.noPass(50 * time.Millisecond)
}

func TestLoopClosedInputFinishesThePassInFlight(t *testing.T) {
	h := startLoop(t, &Loop{})
	h.send(Trigger{Target: "a", Full: true, Source: SourceStart})
	h.pass()
	h.send(Trigger{Target: "b", Full: true, Source: SourcePoll})
	close(h.in)
	r := h.finish(nil)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if err := <-h.ctxErr; err != nil {
		t.Fatalf("the pass's context was ended (%v): a reload must let it finish", err)
	}
	select {
	case err := <-h.done:
		h.done <- err
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("Serve did not return after its input closed")
	}
	h.noPass(50 * time.Millisecond)
}

// TestLoopPassContextEndsWithThePass: what a pass hangs on its context
// (context.AfterFunc without calling the stop function, as a connection
// pool does to abort on interrupt) is released when the pass returns;
// kept on the loop's context it would pile up, pass after pass, for as
// long as the process runs.
func TestLoopPassContextEndsWithThePass(t *testing.T) {
	released := make(chan int, 16)
	in := make(chan Trigger)
	reports := make(chan Report, 16)
	l := &Loop{
		Run: func(ctx context.Context, p Pass) (PassResult, error) {
			context.AfterFunc(ctx, func() { released <- p.Seq })
			return PassResult{}, nil
		},
		OnPass: func(r Report) { reports <- r },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx, in) }()
	for i := 1; i <= 3; i++ {
		in <- Trigger{Target: "a", Full: true, Source: SourcePoll}
		select {
		case seq := <-released:
			if seq != i {
				t.Fatalf("released pass %d, want %d", seq, i)
			}
		case <-time.After(wait):
			t.Fatalf("pass %d returned, and what it hung on its context is still held", i)
		}
		<-reports
		if ctx.Err() != nil {
			t.Fatal("the loop's own context ended")
		}
	}
	close(in)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
