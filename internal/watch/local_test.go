package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// maildirTree makes root/<folder>/{cur,new,tmp} and returns the watcher's
// inputs for it.
func maildirTree(t *testing.T, folders ...string) (root string, dirs map[string]string, roots []string) {
	t.Helper()
	root = t.TempDir()
	dirs = map[string]string{}
	roots = []string{root}
	for _, f := range folders {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(root, f, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		dirs[filepath.Join(root, f, "cur")] = f
		dirs[filepath.Join(root, f, "new")] = f
		roots = append(roots, filepath.Join(root, f))
	}
	return root, dirs, roots
}

func startLocal(t *testing.T, dirs map[string]string, roots []string, quiet, maxDelay time.Duration) <-chan Trigger {
	t.Helper()
	w, err := NewLocalWatcher("ch", dirs, roots)
	if err != nil {
		t.Fatal(err)
	}
	w.Quiet, w.MaxDelay = quiet, maxDelay
	out := make(chan Trigger, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return out
}

func write(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("Subject: x\n\nbody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func TestLocalWatcherTriggers(t *testing.T) {
	tests := []struct {
		name        string
		change      func(t *testing.T, root string)
		wantFull    bool
		wantFolders []string
		wantSource  Source
	}{
		{
			name: "delivery into new/ (tmp, then rename)",
			change: func(t *testing.T, root string) {
				write(t, filepath.Join(root, "INBOX/tmp/1.host"))
				rename(t, filepath.Join(root, "INBOX/tmp/1.host"), filepath.Join(root, "INBOX/new/1.host"))
			},
			wantFolders: []string{"INBOX"}, wantSource: SourceLocal,
		},
		{
			name: "a flag changed: a rename in cur/",
			change: func(t *testing.T, root string) {
				rename(t, filepath.Join(root, "Archive/cur/old:2,"), filepath.Join(root, "Archive/cur/old:2,S"))
			},
			wantFolders: []string{"Archive"}, wantSource: SourceLocal,
		},
		{
			name: "a message deleted",
			change: func(t *testing.T, root string) {
				if err := os.Remove(filepath.Join(root, "Archive/cur/old:2,")); err != nil {
					t.Fatal(err)
				}
			},
			wantFolders: []string{"Archive"}, wantSource: SourceLocal,
		},
		{
			name: "a message moved between folders",
			change: func(t *testing.T, root string) {
				rename(t, filepath.Join(root, "Archive/cur/old:2,"), filepath.Join(root, "INBOX/cur/old:2,"))
			},
			wantFolders: []string{"Archive", "INBOX"}, wantSource: SourceLocal,
		},
		{
			name: "a new folder",
			change: func(t *testing.T, root string) {
				if err := os.MkdirAll(filepath.Join(root, "Lists", "cur"), 0o700); err != nil {
					t.Fatal(err)
				}
			},
			wantFull: true, wantSource: SourceStructure,
		},
		{
			name: "a folder removed",
			change: func(t *testing.T, root string) {
				if err := os.RemoveAll(filepath.Join(root, "Archive")); err != nil {
					t.Fatal(err)
				}
			},
			wantFull: true, wantSource: SourceStructure,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, dirs, roots := maildirTree(t, "INBOX", "Archive")
			write(t, filepath.Join(root, "Archive/cur/old:2,"))
			out := startLocal(t, dirs, roots, 50*time.Millisecond, time.Second)
			tc.change(t, root)
			select {
			case tr := <-out:
				if tr.Target != "ch" || tr.Full != tc.wantFull || tr.Source != tc.wantSource || !tc.wantFull && !slices.Equal(tr.Folders, tc.wantFolders) {
					t.Fatalf("trigger %+v, want full %v folders %q source %s", tr, tc.wantFull, tc.wantFolders, tc.wantSource)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no trigger within 5s")
			}
			select {
			case tr := <-out:
				t.Fatalf("a second trigger %+v for one change", tr)
			case <-time.After(200 * time.Millisecond):
			}
		})
	}
}

func TestLocalWatcherIgnores(t *testing.T) {
	root, dirs, roots := maildirTree(t, "INBOX")
	out := startLocal(t, dirs, roots, 20*time.Millisecond, time.Second)
	write(t, filepath.Join(root, "INBOX/tmp/partial"))                        // tmp/ is not watched
	write(t, filepath.Join(root, "INBOX/maildirfolder"))                      // a file beside cur/ is no folder
	if err := os.Chmod(filepath.Join(root, "INBOX/new"), 0o750); err != nil { // metadata only
		t.Fatal(err)
	}
	select {
	case tr := <-out:
		t.Fatalf("trigger %+v for changes that are not mail", tr)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestLocalWatcherDebounce checks that a burst (mutt marking 200 messages
// read) is one trigger, sent after the burst, and that a burst longer than
// MaxDelay is cut into triggers at most MaxDelay apart.
func TestLocalWatcherDebounce(t *testing.T) {
	root, dirs, roots := maildirTree(t, "INBOX")
	for i := 0; i < 200; i++ {
		write(t, filepath.Join(root, fmt.Sprintf("INBOX/cur/%d:2,", i)))
	}
	t.Run("a burst is one trigger after its end", func(t *testing.T) {
		out := startLocal(t, dirs, roots, 150*time.Millisecond, 5*time.Second)
		for i := 0; i < 200; i++ {
			rename(t, filepath.Join(root, fmt.Sprintf("INBOX/cur/%d:2,", i)), filepath.Join(root, fmt.Sprintf("INBOX/cur/%d:2,S", i)))
		}
		last := time.Now()
		select {
		case tr := <-out:
			if since := time.Since(last); since > time.Second {
				t.Fatalf("trigger %v after the last event, want within ~1s", since)
			}
			if !slices.Equal(tr.Folders, []string{"INBOX"}) {
				t.Fatalf("trigger %+v", tr)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no trigger within 5s")
		}
		select {
		case tr := <-out:
			t.Fatalf("burst gave a second trigger %+v", tr)
		case <-time.After(400 * time.Millisecond):
		}
	})
	t.Run("a long burst is cut at MaxDelay", func(t *testing.T) {
		out := startLocal(t, dirs, roots, 100*time.Millisecond, 300*time.Millisecond)
		stop := make(chan struct{})
		defer close(stop)
		go func() { // one change every 20 ms: never 100 ms of quiet
			for i := 0; ; i = (i + 1) % 200 {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				p := filepath.Join(root, fmt.Sprintf("INBOX/cur/%d:2,S", i))
				os.Rename(p, p+"F")
				os.Rename(p+"F", p)
			}
		}()
		for i := 0; i < 2; i++ {
			select {
			case <-out:
			case <-time.After(5 * time.Second):
				t.Fatalf("trigger %d of a never-ending burst did not come", i+1)
			}
		}
	})
}

func TestLocalWatcherSkipsMissingDirs(t *testing.T) {
	root, dirs, roots := maildirTree(t, "INBOX")
	dirs[filepath.Join(root, "Gone/cur")] = "Gone"
	w, err := NewLocalWatcher("ch", dirs, roots)
	if err != nil {
		t.Fatal(err)
	}
	defer w.fs.Close()
	if got, want := w.Watched(), 4; got != want { // INBOX/cur, INBOX/new, root, INBOX
		t.Fatalf("%d directories watched, want %d", got, want)
	}
}

func TestLocalWatcherUnnamedFolderAsksForAFullPass(t *testing.T) {
	root, dirs, roots := maildirTree(t, "INBOX", "Lists.go")
	dirs[filepath.Join(root, "Lists.go", "cur")] = "" // its name depends on a delimiter not known
	out := startLocal(t, dirs, roots, 20*time.Millisecond, time.Second)
	write(t, filepath.Join(root, "Lists.go/cur/1:2,S"))
	select {
	case tr := <-out:
		if !tr.Full || tr.Source != SourceLocal {
			t.Fatalf("trigger %+v, want a full local pass", tr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no trigger within 5s")
	}
	write(t, filepath.Join(root, "INBOX/cur/2:2,S")) // a named one still names its folder
	select {
	case tr := <-out:
		if tr.Full || !slices.Equal(tr.Folders, []string{"INBOX"}) {
			t.Fatalf("trigger %+v, want INBOX", tr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no trigger within 5s")
	}
}
