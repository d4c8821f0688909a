package par

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroupLimit: however many functions are started, no more than the
// limit run at once, and Wait returns after all of them.
func TestGroupLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		n     int
		queue bool
	}{
		{"go, limit 1", 1, 20, false},
		{"go, limit 8", 8, 100, false},
		{"queue, limit 4", 4, 100, true},
		{"limit 0 means 1", 0, 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGroup(tc.limit)
			var running, peak, done atomic.Int64
			release := make(chan struct{})
			entered := make(chan struct{}, tc.n)
			fn := func() {
				entered <- struct{}{}
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				<-release
				running.Add(-1)
				done.Add(1)
			}
			started := make(chan struct{})
			go func() {
				for i := 0; i < tc.n; i++ {
					if tc.queue {
						g.Queue(fn)
					} else {
						g.Go(fn)
					}
				}
				close(started)
			}()
			want := int64(max(tc.limit, 1))
			deadline := time.After(5 * time.Second)
			for i := int64(0); i < want; i++ { // the limit fills up
				select {
				case <-entered:
				case <-deadline:
					t.Fatalf("only %d of %d started", i, want)
				}
			}
			close(release)
			<-started
			g.Wait()
			if done.Load() != int64(tc.n) {
				t.Errorf("%d done, want %d", done.Load(), tc.n)
			}
			if peak.Load() > want {
				t.Errorf("peak %d running, limit %d", peak.Load(), want)
			}
		})
	}
}

// TestBatcherGroups: items added while a batch runs go together in the
// next one; every item is handed over exactly once, in order.
func TestBatcherGroups(t *testing.T) {
	var mu sync.Mutex
	var batches [][]int
	gate, started := make(chan struct{}), make(chan struct{})
	first := true
	b := NewBatcher(func(q []int) {
		if first {
			first = false
			close(started)
			<-gate // hold the first batch while more arrive
		}
		mu.Lock()
		batches = append(batches, append([]int(nil), q...))
		mu.Unlock()
	})
	b.Add(0)
	<-started
	for i := 1; i <= 5; i++ {
		b.Add(i)
	}
	close(gate)
	b.Later(func() { b.Add(6) })
	b.Wait()
	var all []int
	for _, q := range batches {
		all = append(all, q...)
	}
	if len(all) != 7 {
		t.Fatalf("items %v, want 0..6 once each", all)
	}
	for i, x := range all[:6] {
		if x != i {
			t.Fatalf("items %v out of order", all)
		}
	}
	if len(batches) < 2 || len(batches[0]) != 1 || len(batches[1]) < 5 {
		t.Errorf("batches %v: the five added during the first should go together", batches)
	}
}
