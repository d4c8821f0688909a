// Command mdsync-bench runs mdsync side by side with mbsync, OfflineIMAP,
// mpop and getmail6 against a private Dovecot and writes a markdown report
// to bench/results/. See internal/bench.
//
//	go run ./cmd/mdsync-bench -mdsync bin/mdsync [-quick] [-runs 3] [-only sync,latency,watch,pop,scale]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mdsync/mdsync/internal/bench"
)

func main() {
	var (
		mdsync  = flag.String("mdsync", "bin/mdsync", "mdsync binary to benchmark")
		quick   = flag.Bool("quick", false, "small corpus and mbsync as the only IMAP peer (< 2 minutes)")
		runs    = flag.Int("runs", 3, "runs per measurement; the table shows the median")
		peers   = flag.String("peers", "", "comma-separated IMAP peers (default: mbsync in -quick, mbsync,offlineimap otherwise)")
		only    = flag.String("only", "", "comma-separated sections to run: sync (1-5, 8, floors), latency (7), watch (9), pop, scale (6); default all")
		latency = flag.Duration("latency", 25*time.Millisecond, "one-way delay of the latency proxy (scenario 7)")
		seed    = flag.Int64("seed", 20240501, "corpus seed")
		out     = flag.String("out", "bench/results", "directory of the markdown report")
		work    = flag.String("work", "", "scratch directory (default: a new one under /tmp, removed at the end)")
		keep    = flag.Bool("keep", false, "keep the scratch directory")
	)
	flag.Parse()
	bin, err := filepath.Abs(*mdsync)
	if err != nil {
		fatalf("%v", err)
	}
	if _, err := os.Stat(bin); err != nil {
		fatalf("mdsync binary: %v (run make build)", err)
	}
	o := bench.Options{MDSync: bin, Quick: *quick, Runs: *runs, Latency: *latency, Seed: *seed,
		OutDir: *out, WorkDir: *work, Keep: *keep, Log: os.Stderr, Only: map[string]bool{}}
	switch {
	case *peers != "":
		for _, p := range strings.Split(*peers, ",") {
			if p = strings.TrimSpace(p); p != "" {
				o.Peers = append(o.Peers, p)
			}
		}
	case *quick:
		o.Peers = []string{"mbsync"}
	default:
		o.Peers = []string{"mbsync", "offlineimap"}
	}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.Only[s] = true
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	path, err := bench.Run(ctx, o)
	if path != "" {
		if data, rerr := os.ReadFile(path); rerr == nil {
			os.Stdout.Write(data)
		}
	}
	if err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "mdsync-bench: "+format+"\n", args...)
	os.Exit(1)
}
