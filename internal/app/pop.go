package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/popfetch"
	"github.com/mdsync/mdsync/state"
)

func runPOP(ctx context.Context, e *env, cfg *config.Config, db *state.DB, name string, redownload bool, debugW io.Writer) targetResult {
	r := targetResult{Name: name, Kind: "pop", start: time.Now(), Counts: map[string]int{}}
	p := cfg.POP[name]
	fail := func(err error) targetResult {
		r.Error, r.temp, r.end = err.Error(), classify(err), time.Now()
		return r
	}
	known, err := db.POPCount(ctx, name)
	if err != nil {
		return fail(err)
	}
	if redownload {
		if !e.dryRun {
			if err := forgetPOP(ctx, db, name); err != nil {
				return fail(fmt.Errorf("forget the state of the account: %w", err))
			}
		}
		known = 0
	}
	if err := checkRoot(cfg, cfg.Maildir[p.Maildir], name, known); err != nil {
		return fail(err)
	}
	pw, token, err := credentials(cfg, "pop."+name, &p.Server)
	if err != nil {
		return fail(err)
	}
	store, err := openStoreFor(cfg, p.Maildir, e.dryRun)
	if err != nil {
		return fail(err)
	}
	o, err := popOptions(name, p, pw, token)
	if err != nil {
		return fail(err)
	}
	o.Store, o.DB, o.DryRun, o.Debug = store, db, e.dryRun, debugW
	o.Log = func(format string, args ...any) { e.verbosef(format, args...) }
	res, err := popfetch.New(o).Run(ctx)
	r.Counts = map[string]int{"fetched": res.Fetched, "deleted": res.Deleted, "skipped_too_big": res.Skipped, "pruned": res.Pruned, "remaining": res.Remaining}
	for _, path := range res.Arrived {
		r.landed = append(r.landed, arrival{Folder: p.Folder, Path: path})
	}
	r.Notes = append(r.Notes, res.Warnings...)
	if e.dryRun {
		r.Plan = []planFolder{{Folder: p.Folder, Actions: append([]string{}, res.Plan...)}}
	}
	r.end = time.Now()
	if err != nil {
		return fail(err)
	}
	r.OK = true
	return r
}
