package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/internal/lock"
	"github.com/mdsync/mdsync/state"
)

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
	var db *state.DB
	if e.dryRun {
		// a dry run writes nothing: no lock, and a copy of the state
		db, err = dryRunState(ctx, cfg.StateDir)
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
		db, err = openState(ctx, e, cfg.StateDir)
	}
	if err != nil {
		return exitf(ExitFailed, "%v", err)
	}
	defer func() {
		db.Close()
		e.tracef("state closed")
	}()
	e.tracef("state open")
	force := map[string]bool{}
	for _, f := range c.StringSlice("force-delete") {
		force[f] = true
	}
	redownload := map[string]bool{}
	for _, n := range c.StringSlice("redownload") {
		if cfg.Channel[n] == nil && cfg.POP[n] == nil {
			return exitf(ExitUsage, "--redownload %s: no channel or pop account of that name", n)
		}
		redownload[n] = true
	}
	var debugW io.Writer
	if e.verbose >= 2 {
		debugW = &lockedWriter{w: e.stderr}
	}

	prog := newProgress(e)
	all := func() []targetResult {
		return runTargets(ctx, e, cfg, db, channels, pops, force, redownload, debugW, prog)
	}
	results := all()
	prog.finish()
	if damaged := damagedIn(results); damaged != "" && !e.dryRun && ctx.Err() == nil {
		// The run could not read or write the state; rebuilt by content
		// matching, as after a lost state, it goes through.
		db.Close()
		if db, err = rebuildState(ctx, e, cfg.StateDir, damaged); err != nil {
			return exitf(ExitFailed, "%v", err)
		}
		results = all()
	}
	if ir, ok := interrupted(ctx); ok {
		return reportInterrupt(e, db, ir, results)
	}

	code := ExitOK
	failed, temp := 0, 0
	for _, r := range results {
		if !r.OK {
			if r.temp {
				temp++
			} else {
				failed++
			}
		}
		if !e.dryRun {
			counts, _ := json.Marshal(r.Counts)
			_ = db.RecordTarget(context.WithoutCancel(ctx), state.Target{Name: r.Name, Kind: r.Kind, LastStart: r.start, LastEnd: r.end, OK: r.OK, Error: r.Error, Counts: string(counts)})
		}
	}
	e.tracef("runs recorded")
	switch {
	case failed > 0:
		code = ExitFailed
	case temp > 0:
		code = ExitTemporary
	}
	if e.json {
		s := summary{Version: version(), DryRun: e.dryRun, OK: code == ExitOK, ExitCode: code, Targets: results}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		e.jsonDone = true
	} else {
		printResults(e, results)
	}
	if code != ExitOK {
		return &exitError{code: code, err: errors.New("")}
	}
	return nil
}

// reportInterrupt ends an interrupted run: the targets are recorded as
// interrupted, and one line says what was kept.
func reportInterrupt(e *env, db *state.DB, ir interrupt, results []targetResult) error {
	kept := 0
	for i := range results {
		r := &results[i]
		kept += r.Counts["fetched"] + r.Counts["appended"]
		r.OK, r.Error, r.temp = false, ir.Error(), true
		if r.end.IsZero() {
			r.end = time.Now()
		}
		if !e.dryRun {
			counts, _ := json.Marshal(r.Counts)
			_ = db.RecordTarget(context.Background(), state.Target{Name: r.Name, Kind: r.Kind, LastStart: r.start, LastEnd: r.end, OK: false, Error: r.Error, Counts: string(counts)})
		}
	}
	if e.json {
		s := summary{Version: version(), DryRun: e.dryRun, ExitCode: ir.code(), Interrupted: true, Targets: results}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		e.jsonDone = true
	}
	return exitf(ir.code(), "interrupted: %d messages kept, run again to continue", kept)
}
