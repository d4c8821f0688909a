package watch

import (
	"context"
	"time"
)

// Clock reads the two clocks a wake-up is told by.
type Clock interface {
	// Wall is the time of day, which goes on while the machine sleeps.
	Wall() time.Time
	// Mono is a monotonic reading, which stands still while it sleeps
	// (Go's monotonic clock is CLOCK_MONOTONIC on Linux).
	Mono() time.Duration
}

// systemClock is the real Clock.
type systemClock struct{ base time.Time }

func (c systemClock) Wall() time.Time     { return time.Now().Round(0) } // Round(0) drops the monotonic reading
func (c systemClock) Mono() time.Duration { return time.Since(c.base) }

// SystemClock returns the machine's clocks.
func SystemClock() Clock { return systemClock{base: time.Now()} }

// Suspend notices that the machine slept: between two looks the wall clock
// moved on more than the monotonic one. After a wake-up the connections
// are likely dead without knowing it, and anything may have changed on
// either side, so the answer is to reconnect and run full passes. A wall
// clock set forward by hand looks the same and gets the same (harmless)
// answer.
type Suspend struct {
	Every     time.Duration // how often to look (default 10 s)
	Threshold time.Duration // a larger gap is a wake-up (default 5 s)
	Clock     Clock         // nil: SystemClock()
}

// Run calls woke with the time slept after every wake-up, until ctx is
// done.
func (s *Suspend) Run(ctx context.Context, woke func(slept time.Duration)) {
	every, threshold, clock := s.Every, s.Threshold, s.Clock
	if every <= 0 {
		every = 10 * time.Second
	}
	if threshold <= 0 {
		threshold = 5 * time.Second
	}
	if clock == nil {
		clock = SystemClock()
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	prevWall, prevMono := clock.Wall(), clock.Mono()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		wall, mono := clock.Wall(), clock.Mono()
		if gap, ok := slept(prevWall, wall, prevMono, mono, threshold); ok {
			woke(gap)
		}
		prevWall, prevMono = wall, mono
	}
}

// slept compares how far each clock moved between two looks.
func slept(prevWall, wall time.Time, prevMono, mono, threshold time.Duration) (time.Duration, bool) {
	gap := wall.Sub(prevWall) - (mono - prevMono)
	return gap, gap > threshold
}
