package watch

import (
	"context"
	"time"
)

// Loop merges triggers into passes and runs them one at a time, so that a
// pass always sees the state the previous one left (and holds the lock
// alone). Triggers that come while a pass runs are merged per target
// into the next pass of that target; targets take turns in the order their
// first waiting trigger came.
type Loop struct {
	// Run syncs what the pass names. Its context is cancelled when
	// Serve's is; it should then stop at a safe point and return.
	Run func(ctx context.Context, p Pass) (PassResult, error)
	// OnPass, if set, is told of every pass once it has returned.
	OnPass func(Report)
	// Settle is how long a trigger that finds the loop idle waits for
	// others to merge with (the EXISTS and FETCH of one delivery, say).
	Settle time.Duration
	// RetryMin and RetryMax bound the back-off of a target whose pass
	// failed (default 1 s and 5 min): its next pass waits, whatever
	// triggers it, unless the trigger is one that says the cause may be
	// gone (a new connection, a wake-up, a signal).
	RetryMin, RetryMax time.Duration
}

// Report is a finished pass.
type Report struct {
	Pass     Pass
	Result   PassResult
	Err      error
	Start    time.Time
	Duration time.Duration
	// RetryIn is, after a failure, the wait before the target runs again.
	RetryIn time.Duration
}

// urgent sources end a target's back-off: what they report (the server is
// back, the machine woke up, the user asked) is a reason to try now.
func urgent(s Source) bool {
	return s == SourceConnect || s == SourceResume || s == SourceSignal || s == SourceStart
}

// loopState is Serve's bookkeeping; only Serve's goroutine touches it.
type loopState struct {
	pend    map[string]*pending
	order   []string             // targets with a pending pass, oldest first
	held    map[string]time.Time // target -> not before (after a failure)
	backoff map[string]*Backoff
	settle  time.Time // no pass starts before (zero: none)
	seq     int
}

// Serve runs passes until ctx is done or in is closed, and returns after
// the pass in flight, if any, has returned. When in is closed the pass in
// flight runs to its end with its context intact, and passes still waiting
// are dropped (the caller starts again with a full pass, as after a config
// reload).
func (l *Loop) Serve(ctx context.Context, in <-chan Trigger) error {
	st := &loopState{pend: map[string]*pending{}, held: map[string]time.Time{}, backoff: map[string]*Backoff{}}
	done := make(chan Report, 1)
	running := false
	closing := false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		if !running && !closing {
			target, wait := st.next(time.Now())
			switch {
			case target != "" && wait <= 0:
				p := st.take(target)
				running = true
				go func() { done <- l.run(ctx, p) }()
			case wait > 0:
				timer.Reset(wait)
			}
		}
		select {
		case t, ok := <-in:
			if !ok {
				in = nil
				closing = true
				if !running {
					return nil
				}
				continue
			}
			st.add(t, time.Now(), running, l.Settle)
		case r := <-done:
			running = false
			l.finished(st, &r)
			if l.OnPass != nil {
				l.OnPass(r)
			}
			// Take what came meanwhile before choosing the next pass: a
			// closed input must win over starting one.
			closing = st.drain(in) || closing
			if closing || ctx.Err() != nil {
				return nil
			}
		case <-timer.C:
		case <-ctx.Done():
			if running {
				r := <-done
				if l.OnPass != nil {
					l.OnPass(r)
				}
			}
			return nil
		}
	}
}

// run runs one pass and times it. The pass gets a context of its own
// that ends when it returns: what it hung on the context (an AfterFunc
// that closes a connection on interrupt) is let go then, not kept for as
// long as the process runs.
func (l *Loop) run(ctx context.Context, p Pass) Report {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	res, err := l.Run(pctx, p)
	return Report{Pass: p, Result: res, Err: err, Start: start, Duration: time.Since(start)}
}

// finished records a pass's outcome: a failure holds the target back and
// queues the pass again, a success clears its back-off.
func (l *Loop) finished(st *loopState, r *Report) {
	target := r.Pass.Target
	b := st.backoff[target]
	if r.Err == nil {
		if b != nil {
			b.Reset()
		}
		delete(st.held, target)
		return
	}
	if b == nil {
		b = &Backoff{Min: l.RetryMin, Max: l.RetryMax}
		st.backoff[target] = b
	}
	r.RetryIn = b.Next()
	st.held[target] = time.Now().Add(r.RetryIn)
	p := st.pend[target]
	if p == nil {
		p = newPending(r.Pass.Queued)
		st.pend[target] = p
		st.order = append(st.order, target)
	}
	p.addPass(r.Pass)
}

// drain merges the triggers already waiting in in (they waited for the
// pass: no settle time), and reports whether in is closed.
func (st *loopState) drain(in <-chan Trigger) bool {
	if in == nil {
		return false
	}
	for {
		select {
		case t, ok := <-in:
			if !ok {
				return true
			}
			st.add(t, time.Now(), true, 0)
		default:
			return false
		}
	}
}

// add merges a trigger; the first one to find the loop idle starts the
// settle time.
func (st *loopState) add(t Trigger, now time.Time, running bool, settle time.Duration) {
	if !t.Full && len(t.Folders) == 0 {
		return // asks for nothing
	}
	p := st.pend[t.Target]
	if p == nil {
		p = newPending(now)
		st.pend[t.Target] = p
		st.order = append(st.order, t.Target)
	}
	p.add(t)
	if urgent(t.Source) {
		delete(st.held, t.Target)
	}
	if !running && settle > 0 && st.settle.IsZero() {
		st.settle = now.Add(settle)
	}
}

// next returns the target to run now, or how long to wait for one (0:
// nothing to wait for).
func (st *loopState) next(now time.Time) (string, time.Duration) {
	if !st.settle.IsZero() {
		if d := st.settle.Sub(now); d > 0 {
			return "", d
		}
		st.settle = time.Time{}
	}
	var soonest time.Duration
	for _, target := range st.order {
		p := st.pend[target]
		if p.empty() {
			continue
		}
		until, isHeld := st.held[target]
		if !isHeld || !until.After(now) {
			return target, 0
		}
		if d := until.Sub(now); soonest == 0 || d < soonest {
			soonest = d
		}
	}
	return "", soonest
}

// take removes a target's pending pass and numbers it.
func (st *loopState) take(target string) Pass {
	p := st.pend[target]
	delete(st.pend, target)
	for i, t := range st.order {
		if t == target {
			st.order = append(st.order[:i], st.order[i+1:]...)
			break
		}
	}
	st.seq++
	return p.pass(target, st.seq)
}
