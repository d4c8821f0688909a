package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// fatal is the panic value of benchTB.Fatalf; Run recovers it.
type fatal struct{ msg string }

func (f fatal) Error() string { return f.msg }

// benchTB lets the standalone benchmark reuse internal/testkit/dovecot, whose
// helpers take a testing.TB. It implements the methods that package calls;
// the embedded (nil) interface only supplies testing.TB's unexported
// method, so an unexpected call panics loudly instead of doing nothing.
// Fatal errors panic with a fatal value; callers use it from one goroutine.
type benchTB struct {
	testing.TB
	dir string

	mu       sync.Mutex
	cleanups []func()
	n        int
	logf     func(format string, args ...any)
}

func newTB(dir string, logf func(string, ...any)) *benchTB {
	return &benchTB{dir: dir, logf: logf}
}

func (t *benchTB) Helper()      {}
func (t *benchTB) Name() string { return "mdsync-bench" }
func (t *benchTB) Failed() bool { return false }
func (t *benchTB) Skipped() bool {
	return false
}
func (t *benchTB) Fatalf(format string, args ...any) { panic(fatal{fmt.Sprintf(format, args...)}) }
func (t *benchTB) Fatal(args ...any)                 { panic(fatal{fmt.Sprint(args...)}) }
func (t *benchTB) FailNow()                          { panic(fatal{"FailNow"}) }
func (t *benchTB) Errorf(format string, args ...any) { panic(fatal{fmt.Sprintf(format, args...)}) }
func (t *benchTB) Error(args ...any)                 { panic(fatal{fmt.Sprint(args...)}) }
func (t *benchTB) Skip(args ...any)                  { panic(fatal{"skipped: " + fmt.Sprint(args...)}) }
func (t *benchTB) Skipf(format string, args ...any) {
	panic(fatal{"skipped: " + fmt.Sprintf(format, args...)})
}
func (t *benchTB) SkipNow() { panic(fatal{"skipped"}) }
func (t *benchTB) Log(args ...any) {
	if t.logf != nil {
		t.logf("%s", fmt.Sprint(args...))
	}
}
func (t *benchTB) Logf(format string, args ...any) {
	if t.logf != nil {
		t.logf(format, args...)
	}
}

// TempDir returns a new directory under the benchmark's work directory.
func (t *benchTB) TempDir() string {
	t.mu.Lock()
	t.n++
	n := t.n
	t.mu.Unlock()
	dir := filepath.Join(t.dir, fmt.Sprintf("t%d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		panic(fatal{err.Error()})
	}
	return dir
}

func (t *benchTB) Cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}

// runCleanups runs the registered cleanups, last first.
func (t *benchTB) runCleanups() {
	t.mu.Lock()
	cs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}
