package watch

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	s := time.Second
	tests := []struct {
		name     string
		min, max time.Duration
		rand     float64
		want     []time.Duration
	}{
		{"doubles from the default 1s, low end of the jitter", 0, 0, 0, []time.Duration{s / 2, s, 2 * s, 4 * s, 8 * s}},
		{"high end of the jitter is the nominal wait", 0, 0, 0.999999999, []time.Duration{s, 2 * s, 4 * s, 8 * s}},
		{"capped at max", 100 * time.Millisecond, 300 * time.Millisecond, 0.999999999, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}},
		{"max below min is min", 2 * s, s, 0, []time.Duration{s, s, s}},
		{"default max is 5 minutes", 4 * time.Minute, 0, 0.999999999, []time.Duration{4 * time.Minute, 5 * time.Minute, 5 * time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &Backoff{Min: tc.min, Max: tc.max, Rand: func() float64 { return tc.rand }}
			for i, want := range tc.want {
				got := b.Next()
				if d := got - want; d < -time.Microsecond || d > time.Microsecond {
					t.Fatalf("wait %d = %v, want %v", i+1, got, want)
				}
			}
			if b.Failures() != len(tc.want) {
				t.Fatalf("Failures = %d, want %d", b.Failures(), len(tc.want))
			}
			b.Reset()
			if got, want := b.Next(), tc.want[0]; got-want < -time.Microsecond || got-want > time.Microsecond {
				t.Fatalf("after Reset: %v, want %v", got, want)
			}
		})
	}
}

// TestBackoffJitterSpreads checks that real jitter spreads the waits over
// the upper half of the nominal wait, not onto one value.
func TestBackoffJitterSpreads(t *testing.T) {
	seen := map[time.Duration]bool{}
	for i := 0; i < 50; i++ {
		b := &Backoff{Min: time.Second}
		d := b.Next()
		if d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("wait %v outside [0.5s, 1s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Fatalf("50 first waits took only %d values: no jitter", len(seen))
	}
}
