package syncer

import (
	"sync"

	"github.com/mdsync/mdsync/internal/par"
)

// localLimit is how many folders' local work (reads, renames, fsyncs) runs
// at once: their waits on the disk overlap, and the connections keep the
// other core.
const localLimit = 4

// asideRunner runs plans that need no connection in the background, a few
// at a time, while the connection that gathered them goes on with other
// folders. Their errors are recorded by wait, not by the goroutines: the
// connection worker still writes the folder's error when its turn ends.
type asideRunner struct {
	g    *par.Group
	mu   sync.Mutex
	errs map[*folderSync]error
}

func newAsideRunner() *asideRunner {
	return &asideRunner{g: par.NewGroup(localLimit), errs: map[*folderSync]error{}}
}

// run queues fn, the work of folder w, and returns at once.
func (a *asideRunner) run(w *folderSync, fn func() error) {
	a.g.Queue(func() {
		err := fn()
		a.mu.Lock()
		a.errs[w] = err
		a.mu.Unlock()
	})
}

// wait waits for every plan queued so far and records their errors.
func (a *asideRunner) wait() {
	a.g.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	for w, err := range a.errs {
		if err != nil {
			w.err = err
		}
	}
	a.errs = map[*folderSync]error{}
}

// forEachLocal runs fn over folders that need no connection, localLimit at
// a time, and waits for them; an error becomes its folder's.
func forEachLocal(ws []*folderSync, fn func(*folderSync) error) {
	g := par.NewGroup(localLimit)
	for _, w := range ws {
		g.Go(func() {
			if err := fn(w); err != nil {
				w.err = err
			}
		})
	}
	g.Wait()
}
