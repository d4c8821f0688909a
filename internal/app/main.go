// Package app is the mdsync command line: it reads the config, takes the
// lock, opens the state, runs channels and POP accounts, and turns what
// happened into output and an exit code.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"time"
)

// Main runs the CLI and returns the process exit code. With
// MDSYNC_CPUPROFILE=FILE set it writes a CPU profile of the run there, and
// with MDSYNC_TIMING=1 it prints a timeline of the sync's phases on stderr
// (for the benchmarks' notes).
func Main(args []string, stdout, stderr io.Writer) int {
	start := time.Now()
	if p := os.Getenv("MDSYNC_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
		}
	}
	ctx, stop := watchSignals(context.Background(), stderr)
	defer stop()
	e := &env{stdout: stdout, stderr: stderr}
	if os.Getenv("MDSYNC_TIMING") != "" {
		var mu sync.Mutex
		e.trace = func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stderr, "%8.2fms %s\n", float64(time.Since(start).Microseconds())/1000, fmt.Sprintf(format, args...))
		}
	}
	var notFound string
	app := newCLI(ctx, e, &notFound)
	err := app.RunContext(ctx, args)
	if err == nil && notFound != "" {
		err = &exitError{code: ExitUsage, err: fmt.Errorf("no command %q%s (see mdsync --help)", notFound, didYouMeanCommand(notFound, app.Commands))}
	}
	if err == nil {
		return ExitOK
	}
	code, msg := ExitUsage, err.Error() // urfave's own usage errors
	var xe *exitError
	if errors.As(err, &xe) {
		code, msg = xe.code, ""
		if xe.err != nil {
			msg = xe.err.Error()
		}
	}
	if msg != "" {
		e.errorf("%s", msg)
	}
	if (e.json || wantsJSON(args)) && !e.jsonDone {
		e.printErrorJSON(code, msg)
	}
	return code
}

// wantsJSON reports whether --json is among the arguments (for errors that
// come before the flags are parsed).
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--json" || a == "-json" {
			return true
		}
		if a == "--" {
			break
		}
	}
	return false
}
