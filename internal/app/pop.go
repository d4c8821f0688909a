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

// runPOP fetches one POP account: the UIDLs it remembers forgotten first
// for --redownload, its Maildir root checked against what the state
// knows, then popfetch with the account's options.
func runPOP(ctx context.Context, e *env, cfg *config.Config, db *state.DB, name string, redownload bool, debugW io.Writer) targetResult {
	r := targetResult{Name: name, Kind: "pop", start: time.Now(), Counts: map[string]int{}}
	p := cfg.POP[name]
	known, err := db.POPCount(ctx, name)
	if err != nil {
		return r.failed(err)
	}
	if redownload {
		if !e.dryRun {
			if err := forgetPOP(ctx, db, name); err != nil {
				return r.failed(fmt.Errorf("forget the state of the account: %w", err))
			}
		}
		known = 0
	}
	if err := checkRoot(cfg, cfg.Maildir[p.Maildir], name, known); err != nil {
		return r.failed(err)
	}
	pw, token, err := credentials(cfg, "pop."+name, &p.Server)
	if err != nil {
		return r.failed(err)
	}
	store, err := openStoreFor(cfg, p.Maildir, e.dryRun)
	if err != nil {
		return r.failed(err)
	}
	o, err := popOptions(name, p, pw, token)
	if err != nil {
		return r.failed(err)
	}
	o.Store, o.DB, o.DryRun, o.Debug = store, db, e.dryRun, debugW
	o.Log = func(format string, args ...any) { e.verbosef(format, args...) }
	res, err := popfetch.New(o).Run(ctx)
	r.Counts, r.kept = popCounts(res), res.Fetched
	for _, path := range res.Arrived {
		r.landed = append(r.landed, arrival{Folder: p.Folder, Path: path})
	}
	r.Notes = append(r.Notes, res.Warnings...)
	if e.dryRun {
		r.Plan = []planFolder{{Folder: p.Folder, Actions: append([]string{}, res.Plan...)}}
	}
	if err != nil {
		return r.failed(err)
	}
	r.OK, r.end = true, time.Now()
	return r
}
