package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Debounce defaults of a LocalWatcher: a mail reader renames many files at
// once (mutt marking a thread read), and that burst is one pass.
const (
	DefaultQuiet    = 300 * time.Millisecond
	DefaultMaxDelay = time.Second
)

// LocalWatcher turns file system events in a target's Maildir into
// triggers: a change in a folder's cur/ or new/ asks for a pass of that
// folder; a folder directory appearing or going away (under a root) asks
// for a full pass. Events are debounced: the trigger goes once no event
// came for Quiet, and at the latest MaxDelay after the first.
type LocalWatcher struct {
	Target   string
	Quiet    time.Duration // default DefaultQuiet
	MaxDelay time.Duration // default DefaultMaxDelay
	// Log, if set, is told of watch errors.
	Log func(format string, args ...any)

	fs    *fsnotify.Watcher
	dirs  map[string]string // watched cur/ or new/ -> folder
	roots map[string]bool   // watched parents of folders
}

// NewLocalWatcher watches dirs (a cur/ or new/ directory -> the folder its
// changes are reported under; "" asks for a full pass instead, for a
// directory whose folder name is not known) and roots (directories in which a new or
// removed subdirectory is a folder made or removed). Directories that do
// not exist are skipped: a folder made later is seen through its root.
// Every directory is watched when it returns.
func NewLocalWatcher(target string, dirs map[string]string, roots []string) (*LocalWatcher, error) {
	fs, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch the Maildir of %s: %w", target, err)
	}
	w := &LocalWatcher{Target: target, fs: fs, dirs: map[string]string{}, roots: map[string]bool{}}
	add := func(dir string) (bool, error) {
		if err := fs.Add(dir); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return false, nil
			}
			fs.Close()
			return false, fmt.Errorf("watch %s: %w (inotify watches are limited by fs.inotify.max_user_watches)", dir, err)
		}
		return true, nil
	}
	keys := make([]string, 0, len(dirs))
	for d := range dirs {
		keys = append(keys, d)
	}
	slices.Sort(keys)
	for _, d := range keys {
		ok, err := add(d)
		if err != nil {
			return nil, err
		}
		if ok {
			w.dirs[filepath.Clean(d)] = dirs[d]
		}
	}
	for _, r := range roots {
		ok, err := add(r)
		if err != nil {
			return nil, err
		}
		if ok {
			w.roots[filepath.Clean(r)] = true
		}
	}
	return w, nil
}

// Run sends debounced triggers until ctx is done, then stops watching.
func (w *LocalWatcher) Run(ctx context.Context, out chan<- Trigger) error {
	defer w.fs.Close()
	quiet, maxDelay := w.Quiet, w.MaxDelay
	if quiet <= 0 {
		quiet = DefaultQuiet
	}
	if maxDelay < quiet {
		maxDelay = max(DefaultMaxDelay, quiet)
	}
	var (
		folders = map[string]bool{}
		full    bool
		source  Source
		first   time.Time // of the events not yet sent (zero: none)
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	arm := func(now time.Time) {
		if first.IsZero() {
			first = now
		}
		wait := quiet
		if left := first.Add(maxDelay).Sub(now); left < wait {
			wait = left
		}
		timer.Reset(wait)
	}
	for {
		select {
		case ev, ok := <-w.fs.Events:
			if !ok {
				return nil
			}
			folder, isFull, relevant := w.classify(ev)
			if !relevant {
				continue
			}
			switch {
			case isFull:
				full, source = true, SourceStructure
			case folder == "":
				full = true
				if source == "" {
					source = SourceLocal
				}
			default:
				folders[folder] = true
			}
			arm(time.Now())
		case err, ok := <-w.fs.Errors:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// events were lost: only a full pass knows what changed
				full, source = true, SourceOverflow
				arm(time.Now())
				continue
			}
			if w.Log != nil {
				w.Log("watching the Maildir of %s: %v", w.Target, err)
			}
		case <-timer.C:
			t := Trigger{Target: w.Target, Source: SourceLocal}
			if full {
				t.Full, t.Source = true, source
			} else {
				for f := range folders {
					t.Folders = append(t.Folders, f)
				}
				slices.Sort(t.Folders)
			}
			folders, full, source, first = map[string]bool{}, false, "", time.Time{}
			if !send(ctx, out, t) {
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// classify tells what an event asks for: a pass of folder, a full pass,
// or nothing.
func (w *LocalWatcher) classify(ev fsnotify.Event) (folder string, full, relevant bool) {
	if ev.Op == fsnotify.Chmod {
		return "", false, false
	}
	name := filepath.Clean(ev.Name)
	if _, watched := w.dirs[name]; watched || w.roots[name] {
		// a watched directory itself went away or was moved
		return "", true, ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
	}
	dir := filepath.Dir(name)
	if f, ok := w.dirs[dir]; ok {
		return f, false, true
	}
	if w.roots[dir] {
		switch filepath.Base(name) {
		case "cur", "new", "tmp":
			return "", false, false // a folder's own parts, watched directly
		}
		switch {
		case ev.Has(fsnotify.Create):
			// only a directory is a folder; a file (maildirfolder, a
			// lock) is not
			if fi, err := os.Stat(name); err != nil || !fi.IsDir() {
				return "", false, false
			}
		case !ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Rename):
			return "", false, false // a file written
		}
		return "", true, true
	}
	return "", false, false
}
