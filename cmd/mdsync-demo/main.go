// Command mdsync-demo is what `make demo` runs: it shows mdsync working
// without any account or config.
//
// It starts a throwaway IMAP server in this process (go-imap's in-memory
// server on 127.0.0.1), seeds it with the sample messages in testdata/demo,
// writes a config for it, and runs the real mdsync binary: a first sync
// into -dir, then one flag change on each side, then a second sync whose
// result it checks. The config and the state DB stay beside the Maildir
// root, in DIR.mdsync-demo, whose marker file also lets a rerun replace a
// previous demo's output (and nothing else).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.Mdsync, "mdsync", "bin/mdsync", "the mdsync `binary` to run (make build makes bin/mdsync)")
	flag.StringVar(&o.Dir, "dir", "demo-mail", "the Maildir `directory` to sync into (replaced if it holds a previous demo)")
	flag.StringVar(&o.Data, "data", "testdata/demo", "the sample messages and their manifest.txt")
	flag.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "give up after this long")
	flag.BoolVar(&o.Verbose, "v", false, "also show the demo server's log and mdsync -v output")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: mdsync-demo [-mdsync bin/mdsync] [-dir demo-mail] [-data testdata/demo]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	res := run(ctx, o, os.Stdout, os.Stderr)
	stop()
	os.Exit(res.Code)
}

// options are the demo's settings; run takes them so a test can call it.
type options struct {
	Mdsync  string
	Dir     string
	Data    string
	Timeout time.Duration
	Verbose bool
}

// result is what run found, for main's exit code and for the test.
type result struct {
	Code        int    // exit status: 0 ok, 1 failed, 2 usage (refused dir, missing binary...)
	Seeded      int    // messages put on the server
	LocalFiles  int    // messages in the Maildir after the first sync
	ServerFlag  bool   // the \Flagged set on the server reached the local file
	LocalSeen   bool   // the S set locally reached the server as \Seen
	LocalFile   string // the server-flagged message's file after the second sync
	ServerFlags string // the locally-read message's flags on the server after the second sync
}

// run is the whole demo. It prints to out, reports errors to errw, and
// always stops the server before it returns.
func run(ctx context.Context, o options, out, errw io.Writer) result {
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	d := &demo{o: o, out: out, errw: errw}
	res, err := d.run(ctx)
	if err != nil {
		fmt.Fprintf(errw, "mdsync-demo: %v\n", err)
		if ctx.Err() == context.DeadlineExceeded {
			fmt.Fprintf(errw, "mdsync-demo: gave up after %v (-timeout)\n", o.Timeout)
		}
		if res.Code == 0 {
			res.Code = 1
		}
	}
	return res
}
