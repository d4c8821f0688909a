package syncer

import (
	"context"
	"sync"
)

// aside runs folders' work that needs no connection in the background, a
// few at a time (while the connections go on with other folders); wait
// records their errors.
type aside struct {
	wg   sync.WaitGroup
	sem  chan struct{}
	mu   sync.Mutex
	errs map[*folderSync]error
}

func newAside() *aside { return &aside{sem: make(chan struct{}, 4), errs: map[*folderSync]error{}} }

func (a *aside) run(w *folderSync, fn func() error) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.sem <- struct{}{}
		err := fn()
		<-a.sem
		a.mu.Lock()
		a.errs[w] = err
		a.mu.Unlock()
	}()
}

// batches runs run over the items added, in batches: while one batch
// runs, the items added meanwhile wait for the next (group commit).
type batches[T any] struct {
	mu      sync.Mutex
	queue   []T
	running bool
	wg      sync.WaitGroup
	run     func([]T)
}

func (b *batches[T]) add(x T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = append(b.queue, x)
	if !b.running {
		b.running = true
		b.wg.Add(1)
		go b.loop()
	}
}

func (b *batches[T]) loop() {
	defer b.wg.Done()
	for {
		b.mu.Lock()
		q := b.queue
		b.queue = nil
		if len(q) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.run(q)
	}
}

// later runs fn in the background (it may add), counted by wait.
func (b *batches[T]) later(fn func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fn()
	}()
}

// wait waits for every item added so far.
func (b *batches[T]) wait() { b.wg.Wait() }

// wait waits for every plan run so far and records their errors.
func (a *aside) wait() {
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	for w, err := range a.errs {
		if err != nil {
			w.err = err
		}
	}
	a.errs = map[*folderSync]error{}
}

// local runs fn over works that need no connection, a few at a time (their
// cost is fsyncs and reads, which overlap), and waits for them.
func forEachLocal(_ context.Context, ws []*folderSync, fn func(*folderSync) error) {
	lx := newAside()
	for _, w := range ws {
		lx.run(w, func() error { return fn(w) })
	}
	lx.wait()
}

// ---- phase 1 ----
