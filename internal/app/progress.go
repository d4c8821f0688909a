package app

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mdsync/mdsync/syncer"
)

// progressLine draws one line on a terminal while channels copy mail:
// per channel, messages done of planned, bytes, the rate and the folder.
// It draws only when stdout and stderr are terminals and the run is not
// -q or --json, and only after the run has lasted a moment, so that a
// quick run (no change) prints nothing more.
type progressLine struct {
	w     io.Writer
	mu    sync.Mutex
	chans map[string]*syncer.Progress
	stop  chan struct{}
	done  chan struct{}
	start time.Time
	drawn bool
}

// progressDelay is how long a run goes before its progress is drawn.
const progressDelay = 700 * time.Millisecond

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// newProgress returns a progress display, or nil when none is wanted.
func newProgress(e *env) *progressLine {
	if e.quiet || e.json || e.verbose >= 2 || os.Getenv("TERM") == "dumb" {
		return nil
	}
	out, ok1 := e.stdout.(*os.File)
	errf, ok2 := e.stderr.(*os.File)
	if !ok1 || !ok2 || !isTerminal(out) || !isTerminal(errf) {
		return nil
	}
	p := &progressLine{w: errf, chans: map[string]*syncer.Progress{}, stop: make(chan struct{}), done: make(chan struct{}), start: time.Now()}
	go p.loop()
	return p
}

// channel returns the counters of a channel (nil display: none).
func (p *progressLine) channel(name string) *syncer.Progress {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &syncer.Progress{}
	p.chans[name] = c
	return c
}

func (p *progressLine) loop() {
	defer close(p.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			if p.drawn {
				fmt.Fprint(p.w, "\r\033[K")
			}
			return
		case <-t.C:
			if time.Since(p.start) >= progressDelay {
				p.draw()
			}
		}
	}
}

func (p *progressLine) draw() {
	p.mu.Lock()
	names := make([]string, 0, len(p.chans))
	for n := range p.chans {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	secs := time.Since(p.start).Seconds()
	for _, n := range names {
		c := p.chans[n]
		done, planned, bytes := c.Done.Load(), c.Planned.Load(), c.Bytes.Load()
		if planned == 0 && done == 0 {
			continue
		}
		part := fmt.Sprintf("%s: %d/%d messages, %s, %s/s", n, done, max(planned, done), humanBytes(bytes), humanBytes(int64(float64(bytes)/secs)))
		if f := c.Folder(); f != "" {
			part += " (" + f + ")"
		}
		parts = append(parts, part)
	}
	p.mu.Unlock()
	if len(parts) == 0 {
		return
	}
	fmt.Fprintf(p.w, "\r\033[K%s", strings.Join(parts, "; "))
	p.drawn = true
}

// finish clears the line; the summary follows.
func (p *progressLine) finish() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
