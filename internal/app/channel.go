package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/mdsync/mdsync/internal/app/options"
	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/state"
	"github.com/mdsync/mdsync/syncer"
)

// channelJob is what one sync of a channel takes besides the config: the
// switches of `mdsync sync` and what a watch pass narrows or reuses.
type channelJob struct {
	name       string
	force      map[string]bool // --force-delete
	redownload bool
	only       []string // the folders to sync (nil: all)
	debug      io.Writer
	progress   *syncer.Progress // nil: none
	// creds resolves the account's credentials (nil: credentials, once
	// per run; watch keeps them for its lifetime)
	creds func(key string, s *config.Server) (string, tokenFunc, error)
	// log receives the engine's progress lines (nil: none)
	log func(format string, args ...any)
}

// runChannel syncs one channel: the state it keeps forgotten first for
// --redownload, its Maildir root checked against what the state knows,
// then syncer.Run with the channel's options.
func runChannel(ctx context.Context, e *env, cfg *config.Config, db *state.DB, job channelJob) targetResult {
	name := job.name
	r := targetResult{Name: name, Kind: "channel", start: time.Now(), Counts: map[string]int{}}
	ch := cfg.Channel[name]
	acct := cfg.IMAP[ch.IMAP]
	_, known, err := db.Counts(ctx, name)
	if err != nil {
		return r.failed(err)
	}
	if job.redownload {
		if !e.dryRun {
			if err := forgetChannel(ctx, db, name); err != nil {
				return r.failed(fmt.Errorf("forget the state of the channel: %w", err))
			}
		}
		known = 0
	}
	if err := checkRoot(cfg, cfg.Maildir[ch.Maildir], name, known); err != nil {
		return r.failed(err)
	}
	creds := job.creds
	if creds == nil {
		creds = func(key string, s *config.Server) (string, tokenFunc, error) { return credentials(cfg, key, s) }
	}
	pw, token, err := creds("imap."+ch.IMAP, &acct.Server)
	if err != nil {
		return r.failed(err)
	}
	store, err := openStoreFor(cfg, ch.Maildir, e.dryRun)
	if err != nil {
		return r.failed(err)
	}
	if job.log != nil {
		job.log("channel %s: syncing %s@%s with %s", name, acct.User, acct.Addr(), store.Root())
	}
	o := options.Channel(cfg, name, pw, token, job.debug)
	o.Store, o.DB, o.DryRun, o.ForceDelete, o.Trace, o.Progress = store, db, e.dryRun, job.force, e.trace, job.progress
	o.Only, o.Log = job.only, job.log
	res, err := syncer.Run(ctx, o)
	if res != nil {
		r.takeChannel(res, e.dryRun)
	}
	if err != nil {
		return r.failed(err)
	}
	r.OK, r.end = true, time.Now()
	return r
}

// takeChannel fills r with what a channel's run did, also when it failed
// part way: its counts, notes and arrivals, and with withPlan the plan of
// a dry run.
func (r *targetResult) takeChannel(res *syncer.Result, withPlan bool) {
	r.Counts = channelCounts(res)
	r.kept = res.Fetched + res.Appended
	for _, n := range res.Notes {
		r.Notes = append(r.Notes, n.Text)
		if n.Notice {
			r.notices = append(r.notices, n.Text)
		}
	}
	for _, a := range res.Arrived {
		r.landed = append(r.landed, arrival{Folder: a.Folder, Path: a.Path})
	}
	if !withPlan {
		return
	}
	for _, op := range res.FolderOps {
		r.Plan = append(r.Plan, planFolder{Folder: op.Folder, Actions: []string{op.String()}})
	}
	for _, fp := range res.Plans {
		pf := planFolder{Folder: fp.Name, Blocked: fp.Blocked, Actions: []string{}}
		for _, a := range fp.Actions {
			pf.Actions = append(pf.Actions, a.String())
		}
		if len(pf.Actions) > 0 || pf.Blocked != "" {
			r.Plan = append(r.Plan, pf)
		}
	}
}
