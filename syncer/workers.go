package syncer

import (
	"context"
	"sync"

	"github.com/mdsync/mdsync/internal/imapconn"
)

// each runs fn over the works on up to max connections. A folder whose
// connection broke is retried once on a fresh connection.
func (p *connPool) each(ctx context.Context, ws []*folderSync, fn func(*lane, *folderSync) error) {
	n := p.max
	if n > len(ws) {
		n = len(ws)
	}
	// Every worker holds a connection before it takes a folder: one that
	// has a connection at hand starts at once while the others are still
	// dialling, and a worker that cannot connect leaves its share to the
	// others.
	// A folder goes preferably to the worker holding the connection it was
	// gathered on (still selected there: no second SELECT); the rest are
	// shared.
	affine := map[*imapconn.Conn][]*folderSync{}
	shared := make(chan *folderSync, len(ws))
	p.mu.Lock()
	idle := map[*imapconn.Conn]bool{}
	for _, c := range p.idle {
		idle[c] = true
	}
	p.mu.Unlock()
	for _, w := range ws {
		if w.conn != nil && idle[w.conn] {
			affine[w.conn] = append(affine[w.conn], w)
		} else {
			shared <- w
		}
	}
	close(shared)
	var wg sync.WaitGroup
	var dialErr error
	var mu sync.Mutex
	run := func(l *lane, w *folderSync) {
		for attempt := 0; attempt < 2; attempt++ {
			if l.c == nil {
				var err error
				if l.c, err = p.get(ctx); err != nil {
					w.err = err
					return
				}
			}
			w.err = fn(l, w)
			if w.err != nil && isConnError(w.err) {
				p.put(l.c, w.err) // dropped, with what was sent ahead on it
				l.c, l.ahead = nil, nil
			}
			if w.err == nil || !isConnError(w.err) || isTimeout(w.err) || ctx.Err() != nil {
				break
			}
		}
	}
	// serve runs a worker's folders: its own first, then shared ones. The
	// next folder is claimed before the current one runs, so that its
	// SELECT can follow the current one's last command (lane.next).
	serve := func(c *imapconn.Conn, own []*folderSync) *imapconn.Conn {
		l := &lane{c: c}
		take := func() *folderSync {
			if len(own) > 0 {
				w := own[0]
				own = own[1:]
				return w
			}
			if w, ok := <-shared; ok {
				return w
			}
			return nil
		}
		for cur := take(); cur != nil; {
			l.next = take()
			run(l, cur)
			cur, l.next = l.next, nil
		}
		return l.c
	}
	workers := 0
	// folders whose connection could not be taken back go to the first of
	// the other workers
	var rest []*folderSync
	for c, group := range affine {
		if !p.take(c) {
			for _, w := range group {
				w.conn = nil
			}
			rest = append(rest, group...)
			continue
		}
		workers++
		wg.Add(1)
		go func(c *imapconn.Conn, group []*folderSync) {
			defer wg.Done()
			if c = serve(c, group); c != nil {
				p.put(c, nil)
			}
		}(c, group)
	}
	for i := workers; i < n || (len(rest) > 0 && i == workers); i++ {
		wg.Add(1)
		go func(first bool) {
			defer wg.Done()
			c, err := p.get(ctx)
			if err != nil {
				mu.Lock()
				dialErr = err
				mu.Unlock()
				if first {
					for _, w := range rest {
						w.err = err
					}
				}
				return
			}
			var own []*folderSync
			if first {
				own = rest
			}
			if c = serve(c, own); c != nil {
				p.put(c, nil)
			}
		}(i == workers)
	}
	wg.Wait()
	for w := range shared { // left over when no worker could connect
		w.err = dialErr
	}
}
