package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// exitWith ends a command with code and nothing more to say: its output
// already said what failed.
func exitWith(code int) error {
	if code == ExitOK {
		return nil
	}
	return &exitError{code: code, err: errors.New("")}
}

// withFailure is a command's exit code once one more of its targets or
// accounts failed: a failure that lasts until something is changed (1)
// outranks one that may pass by itself (75), which outranks success.
func withFailure(code int, temporary bool) int {
	switch {
	case !temporary:
		return ExitFailed
	case code == ExitOK:
		return ExitTemporary
	}
	return code
}

// env is what one invocation works with: where its output goes and the
// switches of the common flags.
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

// infof says a line on stdout, unless -q or --json.
func (e *env) infof(format string, args ...any) {
	if !e.quiet && !e.json {
		fmt.Fprintf(e.stdout, format+"\n", args...)
	}
}

// verbosef says a line on stderr with -v, unless -q.
func (e *env) verbosef(format string, args ...any) {
	if e.verbose > 0 && !e.quiet {
		fmt.Fprintf(e.stderr, format+"\n", args...)
	}
}

// errorf says a line on stderr, always.
func (e *env) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "mdsync: "+format+"\n", args...)
}

// htmlEscape says whether a JSON object writes <, > and & as \u003c,
// \u003e and \u0026. sync and list write them as they are; status, check
// and import have always escaped them, and scripts may compare that
// output byte for byte.
type htmlEscape bool

const (
	asText  htmlEscape = false
	escaped htmlEscape = true
)

// printJSON writes the one JSON object of a --json command on stdout,
// indented, and notes that it did: Main then adds no error object.
func (e *env) printJSON(v any, esc htmlEscape) {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(bool(esc))
	enc.Encode(v)
	e.jsonDone = true
}

// printErrorJSON is the object of a --json run that ended before its
// command wrote one (a usage error, a config that does not load): every
// exit of a --json run is one JSON object.
func (e *env) printErrorJSON(code int, msg string) {
	if msg == "" {
		msg = "failed"
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]any{"version": version(), "ok": false, "exit_code": code, "error": msg})
}
