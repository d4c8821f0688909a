package watch

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestSlept(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		wall      time.Duration // how far the wall clock moved
		mono      time.Duration // how far the monotonic clock moved
		wantSlept bool
	}{
		{"awake: both moved alike", 10 * time.Second, 10 * time.Second, false},
		{"a little drift (NTP slewing)", 10*time.Second + 200*time.Millisecond, 10 * time.Second, false},
		{"slept an hour", time.Hour + 10*time.Second, 10 * time.Second, true},
		{"just over the threshold", 15*time.Second + time.Millisecond, 10 * time.Second, true},
		{"wall clock set back is no sleep", 0, 10 * time.Second, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gap, got := slept(t0, t0.Add(tc.wall), time.Minute, time.Minute+tc.mono, 5*time.Second)
			if got != tc.wantSlept {
				t.Fatalf("slept = %v (gap %v), want %v", got, gap, tc.wantSlept)
			}
			if got && gap != tc.wall-tc.mono {
				t.Fatalf("gap %v, want %v", gap, tc.wall-tc.mono)
			}
		})
	}
}

// fakeClock is a Clock a test moves by hand.
type fakeClock struct {
	mu   sync.Mutex
	wall time.Time
	mono time.Duration
	read chan struct{} // gets a token on each Wall reading (if not full)
}

func (c *fakeClock) Wall() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case c.read <- struct{}{}:
	default:
	}
	return c.wall
}

func (c *fakeClock) Mono() time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return c.mono }
func (c *fakeClock) sleep(d time.Duration) {
	c.mu.Lock()
	c.wall = c.wall.Add(d)
	c.mu.Unlock()
}

func TestSuspendRunReportsWakeUp(t *testing.T) {
	clock := &fakeClock{wall: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC), read: make(chan struct{}, 1)}
	woke := make(chan time.Duration, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s := &Suspend{Every: 5 * time.Millisecond, Threshold: time.Second, Clock: clock}
	go func() {
		defer close(done)
		s.Run(ctx, func(d time.Duration) { woke <- d })
	}()
	select { // Run has taken its first reading
	case <-clock.read:
	case <-time.After(5 * time.Second):
		t.Fatal("Run never read the clock")
	}
	clock.sleep(2 * time.Hour) // the monotonic clock stood still
	select {
	case d := <-woke:
		if d != 2*time.Hour {
			t.Fatalf("slept %v, want 2h", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up reported within 5s")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	select {
	case d := <-woke:
		t.Fatalf("a second wake-up (%v) for one sleep", d)
	default:
	}
}

func TestSystemClockAwake(t *testing.T) {
	c := SystemClock()
	w0, m0 := c.Wall(), c.Mono()
	time.Sleep(20 * time.Millisecond) // the clocks must move; nothing is synchronised on this
	if gap, s := slept(w0, c.Wall(), m0, c.Mono(), 5*time.Second); s {
		t.Fatalf("an awake machine seen as having slept %v", gap)
	}
	if c.Mono() <= m0 {
		t.Fatal("the monotonic reading did not move")
	}
}
