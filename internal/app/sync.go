package app

import (
	"context"
	"errors"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/internal/app/options"
	"github.com/mdsync/mdsync/internal/lock"
	"github.com/mdsync/mdsync/state"
)

// runSync is `mdsync sync [NAME...]`: the named channels and POP accounts
// (all when none) run with the lock held, each recorded in the state as
// its last run, and the outcome said as text or as one JSON object. A dry
// run takes no lock and plans from a copy of the state.
func runSync(ctx context.Context, e *env, c *cli.Context) error {
	e.tracef("start")
	cfg, err := loadConfig(e, c)
	if err != nil {
		return err
	}
	if err := flagsFirst(c); err != nil {
		return err
	}
	channels, pops, err := cfg.Targets(c.Args().Slice())
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	t := &targets{cfg: cfg, force: map[string]bool{}, redownload: map[string]bool{}}
	if e.dryRun {
		// a dry run writes nothing: no lock, and a copy of the state
		t.db, err = dryRunState(ctx, cfg.StateDir)
	} else {
		lk, lerr := lock.Acquire(cfg.StateDir)
		if lerr != nil {
			if errors.Is(lerr, lock.ErrHeld) {
				return exitf(ExitTemporary, "%v", lerr)
			}
			return exitf(ExitFailed, "%v", lerr)
		}
		defer lk.Release()
		e.tracef("locked")
		t.db, err = openState(ctx, e, cfg.StateDir)
	}
	if err != nil {
		return exitf(ExitFailed, "%v", err)
	}
	defer func() {
		if t.db != nil { // the one open now: a rebuild replaces it, or fails
			t.db.Close()
		}
		e.tracef("state closed")
	}()
	e.tracef("state open")
	for _, f := range c.StringSlice("force-delete") {
		t.force[f] = true
	}
	for _, n := range c.StringSlice("redownload") {
		if cfg.Channel[n] == nil && cfg.POP[n] == nil {
			return exitf(ExitUsage, "--redownload %s: no channel or pop account of that name", n)
		}
		t.redownload[n] = true
	}
	if e.verbose >= 2 {
		t.debug = options.Locked(e.stderr)
	}

	t.prog = newProgress(e)
	results := t.run(ctx, e, channels, pops)
	t.prog.finish()
	if damaged := damagedIn(results); damaged != nil && !e.dryRun && ctx.Err() == nil {
		// The run could not read or write the state; rebuilt by content
		// matching, as after a lost state, it goes through.
		t.db.Close()
		if t.db, err = rebuildState(ctx, e, cfg.StateDir, damaged); err != nil {
			return exitf(ExitFailed, "%v", err)
		}
		results = t.run(ctx, e, channels, pops)
	}
	if ir, ok := interrupted(ctx); ok {
		return reportInterrupt(ctx, e, t.db, ir, results)
	}

	code := ExitOK
	for _, r := range results {
		if !r.OK {
			code = withFailure(code, r.temp)
		}
		if !e.dryRun {
			_ = recordTarget(ctx, t.db, r) // a record lost costs status one run, not the sync its outcome
		}
	}
	e.tracef("runs recorded")
	if e.json {
		e.printJSON(summary{Version: version(), DryRun: e.dryRun, OK: code == ExitOK, ExitCode: code, Targets: results}, asText)
	} else {
		printResults(e, results)
	}
	return exitWith(code)
}

// reportInterrupt ends an interrupted run: the targets are recorded as
// interrupted, and one line says what was kept.
func reportInterrupt(ctx context.Context, e *env, db *state.DB, ir interrupt, results []targetResult) error {
	kept := 0
	for i := range results {
		r := &results[i]
		kept += r.kept
		r.OK, r.Error, r.temp = false, ir.Error(), true
		if r.end.IsZero() {
			r.end = time.Now()
		}
		if !e.dryRun {
			_ = recordTarget(ctx, db, *r)
		}
	}
	if e.json {
		e.printJSON(summary{Version: version(), DryRun: e.dryRun, ExitCode: ir.code(), Interrupted: true, Targets: results}, asText)
	}
	return exitf(ir.code(), "interrupted: %d messages kept, run again to continue", kept)
}
