package app

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// watchCommand is `mdsync watch [NAME...]`: the named channels and POP
// accounts kept in sync until the process is stopped.
func watchCommand(ctx context.Context, e *env, common func() []cli.Flag, before cli.BeforeFunc) *cli.Command {
	return &cli.Command{
		Name:                   "watch",
		Usage:                  "keep the named channels and POP accounts (all when none) in sync as mail arrives and files change, until stopped",
		ArgsUsage:              "[NAME...]",
		Flags:                  watchFlags(common),
		Before:                 before,
		UseShortOptionHandling: true,
		Action:                 func(c *cli.Context) error { return runWatch(ctx, e, c) },
	}
}

// watchFlags are the common flags as watch takes them: no --dry-run (a
// pass changes things; sync --dry-run shows what one would do), --json and
// -v per pass.
func watchFlags(common func() []cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, f := range common() {
		if b, ok := f.(*cli.BoolFlag); ok {
			switch b.Name {
			case "dry-run":
				continue
			case "json":
				b.Usage = "print one JSON object per pass on stdout, one per line"
			case "verbose":
				b.Usage = "print a line per pass; -vv also the protocol (credentials redacted)"
			}
		}
		out = append(out, f)
	}
	return out
}

// runWatch runs passes until SIGINT or SIGTERM (then it returns nil: a
// service stopped on purpose exits 0). SIGHUP reads the config again
// (one that does not load is reported and the old one kept), SIGUSR1
// asks for a full pass of every target.
func runWatch(ctx context.Context, e *env, c *cli.Context) error {
	if err := flagsFirst(c); err != nil {
		return err
	}
	if e.dryRun {
		return exitf(ExitUsage, "watch changes things by design; mdsync sync --dry-run shows what a pass would do")
	}
	hup := make(chan os.Signal, 1)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(hup)
	defer signal.Stop(usr1)

	names := c.Args().Slice()
	cfg, err := loadConfig(e, c)
	if err != nil {
		return err
	}
	set, err := newWatchSet(ctx, e, cfg, names)
	if err != nil {
		return err
	}
	for set.run(ctx, hup, usr1) {
		next, err := loadConfig(e, c)
		if err == nil {
			var s *watchSet
			if s, err = newWatchSet(ctx, e, next, names); err == nil {
				set = s
				e.verbosef("mdsync: SIGHUP: config read again")
				continue
			}
		}
		e.errorf("SIGHUP: %v; going on with the config as it was", err)
		if set, err = newWatchSet(ctx, e, set.cfg, names); err != nil {
			return err
		}
	}
	return nil
}
