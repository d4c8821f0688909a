package par

import "sync"

// Group runs functions in goroutines, at most a limit of them at a time,
// and waits for them. A Group is used by one goroutine (the one that calls
// Go, Queue and Wait); the functions it runs may run concurrently.
type Group struct {
	slots chan struct{}
	wg    sync.WaitGroup
}

// NewGroup returns a Group that runs at most limit functions at a time
// (at least one).
func NewGroup(limit int) *Group {
	return &Group{slots: make(chan struct{}, max(limit, 1))}
}

// Go waits for a free slot, then runs fn in a goroutine: a producer that
// outruns its consumers is held back (say, a network read while the disk
// syncs what it wrote).
func (g *Group) Go(fn func()) {
	g.slots <- struct{}{}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() { <-g.slots }()
		fn()
	}()
}

// Queue runs fn in a goroutine once a slot is free, and returns at once.
func (g *Group) Queue(fn func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.slots <- struct{}{}
		defer func() { <-g.slots }()
		fn()
	}()
}

// Wait waits for every function started so far.
func (g *Group) Wait() { g.wg.Wait() }
