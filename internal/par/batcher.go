package par

import "sync"

// Batcher hands the items added to it to a function, in batches: one batch
// runs at a time, and the items added meanwhile make the next (group
// commit: one transaction for several folders' outcomes). It is safe for
// concurrent use.
type Batcher[T any] struct {
	run     func([]T)
	mu      sync.Mutex
	queue   []T
	running bool
	wg      sync.WaitGroup
}

// NewBatcher returns a Batcher that runs run over each batch.
func NewBatcher[T any](run func([]T)) *Batcher[T] { return &Batcher[T]{run: run} }

// Add queues x for the next batch, starting one if none runs.
func (b *Batcher[T]) Add(x T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue = append(b.queue, x)
	if !b.running {
		b.running = true
		b.wg.Add(1)
		go b.loop()
	}
}

func (b *Batcher[T]) loop() {
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

// Later runs fn in a goroutine that Wait waits for too (fn may Add).
func (b *Batcher[T]) Later(fn func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fn()
	}()
}

// Wait waits for every item added so far, and every Later function, to be
// done.
func (b *Batcher[T]) Wait() { b.wg.Wait() }
