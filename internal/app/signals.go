package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// interrupt is the cause of a run's context when SIGINT or SIGTERM came.
type interrupt struct{ sig os.Signal }

func (i interrupt) Error() string { return "interrupted by " + signalName(i.sig) }

// code is the shell's exit status for death by that signal (128 + n).
func (i interrupt) code() int {
	if s, ok := i.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// watchSignals returns a context cancelled by the first SIGINT or SIGTERM:
// the run stops starting work, ends what is in flight, records what is
// durable and exits. A second signal exits at once: the journal makes that
// as safe as a crash, the next run finishes what this one left.
func watchSignals(parent context.Context, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	c := make(chan os.Signal, 2)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var first interrupt
		select {
		case s := <-c:
			first = interrupt{s}
			cancel(first)
		case <-done:
			return
		}
		select {
		case s := <-c:
			fmt.Fprintf(stderr, "mdsync: %s again: stopped at once; run again to continue\n", signalName(s))
			os.Exit(first.code())
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(c)
		close(done)
		cancel(nil)
	}
}

// interrupted returns the interrupt that cancelled ctx, if one did.
func interrupted(ctx context.Context) (interrupt, bool) {
	var i interrupt
	ok := errors.As(context.Cause(ctx), &i)
	return i, ok
}
