package app

import (
	"context"
	"maps"
	"path/filepath"
	"sync"

	"github.com/mdsync/mdsync/internal/watch"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/syncer"
)

// localWatch keeps a file system watch on the cur/ and new/ of a
// channel's local folders. The set of folders changes (a sync creates
// one, the user another): after each full pass it is listed again and
// the watch replaced when it differs.
type localWatch struct {
	channel  string
	store    *maildir.Store
	patterns []string
	log      func(format string, args ...any)
	refresh  chan struct{} // Refresh asks run to list the folders again

	mu    sync.Mutex
	delim rune // the server's hierarchy delimiter; 0 until known
}

// Refresh asks for the folders to be listed again; it does not wait.
func (l *localWatch) Refresh() {
	select {
	case l.refresh <- struct{}{}:
	default:
	}
}

// knownDelim is the delimiter, 0 while unknown.
func (l *localWatch) knownDelim() rune {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.delim
}

// learnDelim records the delimiter once a pass could ask the server.
func (l *localWatch) learnDelim(d rune) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.delim == 0 {
		l.delim = d
	}
}

// matchFolder is syncer.MatchFolder with '/' for a delimiter not known.
func matchFolder(patterns []string, name string, delim rune) bool {
	if delim == 0 {
		delim = '/'
	}
	return syncer.MatchFolder(patterns, name, delim)
}

// dirs lists what to watch: each selected folder's cur/ and new/ (mapped
// to its name, or to "" while the delimiter is unknown: a full pass), and
// as roots the tree's root and each folder, where a new subfolder shows.
func (l *localWatch) dirs() (map[string]string, []string) {
	l.mu.Lock()
	delim := l.delim
	l.mu.Unlock()
	listDelim := delim
	if listDelim == 0 {
		listDelim = '/'
	}
	dirs := map[string]string{}
	roots := []string{l.store.Root()}
	names, _, err := l.store.List(listDelim)
	if err != nil {
		l.log("list the local folders to watch: %v", err)
		return dirs, roots
	}
	for _, n := range names {
		if !matchFolder(l.patterns, n, delim) {
			continue
		}
		f, err := l.store.Folder(n, listDelim)
		if err != nil {
			continue
		}
		name := n
		if delim == 0 {
			name = ""
		}
		dirs[filepath.Join(f.Path(), "cur")] = name
		dirs[filepath.Join(f.Path(), "new")] = name
		roots = append(roots, f.Path())
	}
	return dirs, roots
}

// run watches until ctx is done, replacing the watch when a Refresh finds
// the folders changed. A new watch starts before the old one stops, so
// that no event falls between them.
func (l *localWatch) run(ctx context.Context, out chan<- watch.Trigger) {
	var (
		cur     map[string]string
		stopCur context.CancelFunc = func() {}
		done    chan struct{}
	)
	defer func() {
		stopCur()
		if done != nil {
			<-done
		}
	}()
	replace := func() {
		dirs, roots := l.dirs()
		if cur != nil && maps.Equal(dirs, cur) {
			return
		}
		w, err := watch.NewLocalWatcher(l.channel, dirs, roots)
		if err != nil {
			l.log("%v; local changes wait for the poll", err)
			return
		}
		wctx, stop := context.WithCancel(ctx)
		wdone := make(chan struct{})
		go func() {
			defer close(wdone)
			w.Run(wctx, out)
		}()
		stopCur()
		if done != nil {
			<-done
		}
		cur, stopCur, done = dirs, stop, wdone
	}
	replace()
	for {
		select {
		case <-l.refresh:
			replace()
		case <-ctx.Done():
			return
		}
	}
}
