package watch

import (
	"math/rand/v2"
	"time"
)

// Backoff spaces out retries: the wait doubles from Min up to Max, and each
// wait is drawn at random from its upper half ("equal jitter"), so that
// many clients that lost the same server do not come back in step, while
// none retries sooner than half the nominal wait. The zero value waits
// 1 s, 2 s, 4 s ... up to 5 min.
type Backoff struct {
	Min, Max time.Duration
	// Rand returns a number in [0, 1); nil: math/rand.
	Rand func() float64

	n int // failures since the last Reset
}

const (
	defaultBackoffMin = time.Second
	defaultBackoffMax = 5 * time.Minute
)

// Next returns the wait before the next try and counts a failure.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = defaultBackoffMin
	}
	if hi <= 0 {
		hi = defaultBackoffMax
	}
	if hi < lo {
		hi = lo
	}
	d := lo
	for i := 0; i < b.n && d < hi; i++ {
		d *= 2
	}
	if d > hi {
		d = hi
	}
	b.n++
	r := rand.Float64
	if b.Rand != nil {
		r = b.Rand
	}
	half := d / 2
	return half + time.Duration(r()*float64(d-half))
}

// Reset starts again from Min (after a success).
func (b *Backoff) Reset() { b.n = 0 }
