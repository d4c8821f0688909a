package app

import (
	"fmt"
	"io"
	"sync"
)

// Exit codes.
const (
	ExitOK        = 0
	ExitFailed    = 1  // a channel or account failed; the others still ran
	ExitUsage     = 2  // usage or config error
	ExitTemporary = 75 // EX_TEMPFAIL: unreachable server, lock held
)

// exitError carries an exit code through urfave/cli up to Main, so that
// deferred cleanup (lock, database) runs before the process exits.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// env is what one invocation works with.
type env struct {
	stdout, stderr io.Writer
	json           bool
	jsonDone       bool // the command wrote its JSON object
	quiet          bool
	verbose        int
	dryRun         bool
	trace          func(format string, args ...any) // MDSYNC_TIMING (nil: off)
}

func (e *env) tracef(format string, args ...any) {
	if e.trace != nil {
		e.trace(format, args...)
	}
}

func (e *env) infof(format string, args ...any) {
	if !e.quiet && !e.json {
		fmt.Fprintf(e.stdout, format+"\n", args...)
	}
}

func (e *env) verbosef(format string, args ...any) {
	if e.verbose > 0 && !e.quiet {
		fmt.Fprintf(e.stderr, format+"\n", args...)
	}
}

func (e *env) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "mdsync: "+format+"\n", args...)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
