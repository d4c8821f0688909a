package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mdsync/mdsync/internal/lock"
	"github.com/mdsync/mdsync/internal/watch"
	"github.com/mdsync/mdsync/state"
)

// pass runs one pass as `mdsync sync NAME` would, hooks included, with
// the lock held for its duration (a cron sync and watch never overlap)
// and the state opened for it alone (a sync in between may have rebuilt
// it). A channel pass that names folders syncs only those.
func (s *watchSet) pass(ctx context.Context, p watch.Pass) (watch.PassResult, error) {
	kind := "channel"
	if s.cfg.POP[p.Target] != nil {
		kind = "pop"
	}
	r := targetResult{Name: p.Target, Kind: kind, start: time.Now(), Counts: map[string]int{}}
	fail := func(err error, temp bool) (watch.PassResult, error) {
		r.Error, r.temp, r.end = err.Error(), temp, time.Now()
		s.last = r
		return watch.PassResult{Counts: r.Counts, Temporary: temp}, err
	}
	lk, err := lock.Acquire(s.cfg.StateDir)
	if err != nil {
		return fail(err, errors.Is(err, lock.ErrHeld))
	}
	defer lk.Release()
	db, err := openState(ctx, s.e, s.cfg.StateDir)
	if err != nil {
		return fail(fmt.Errorf("open the state: %w", err), false)
	}
	defer db.Close()
	var only []string
	if !p.Full {
		only = p.Folders
	}
	r = withHooks(ctx, s.e, s.cfg, kind, p.Target, func() targetResult {
		if kind == "pop" {
			return runPOP(ctx, s.e, s.cfg, db, p.Target, false, s.debug)
		}
		return s.channelPass(ctx, db, p.Target, only)
	})
	if ir, ok := interrupted(ctx); ok && !r.OK {
		r.Error, r.err, r.temp = ir.Error(), ir, true
	}
	_ = recordTarget(ctx, db, r) // a pass that cannot say so still ran
	s.last = r
	if !r.OK {
		return watch.PassResult{Counts: r.Counts, Temporary: r.temp}, errors.New(r.Error)
	}
	if lw := s.locals[p.Target]; lw != nil && p.Full {
		if lw.knownDelim() == 0 { // the server answers now: ask it
			lw.learnDelim(s.delimiter(ctx, s.cfg.IMAP[s.cfg.Channel[p.Target].IMAP]))
		}
		lw.Refresh() // a full pass may have made or removed folders
	}
	return watch.PassResult{Counts: r.Counts}, nil
}

// channelPass syncs a channel as sync does (only some of its folders when
// only is not nil), with the credentials resolved once for the watch; the
// engine's progress lines only with -vv (-v is a line per pass).
func (s *watchSet) channelPass(ctx context.Context, db *state.DB, name string, only []string) targetResult {
	job := channelJob{name: name, only: only, debug: s.debug, creds: s.creds.get}
	if s.e.verbose >= 2 {
		job.log = s.e.verbosef
	}
	return runChannel(ctx, s.e, s.cfg, db, job)
}

// passLine is the --json object of one pass (one per line).
type passLine struct {
	Pass    int            `json:"pass"`
	Start   time.Time      `json:"start"`
	Name    string         `json:"name"`
	Kind    string         `json:"kind"`
	Full    bool           `json:"full"`
	Folders []string       `json:"folders,omitempty"`
	Sources []watch.Source `json:"sources"`
	OK      bool           `json:"ok"`
	Error   string         `json:"error,omitempty"`
	Counts  map[string]int `json:"counts"`
	Notes   []string       `json:"notes,omitempty"`
	Arrived []arrival      `json:"arrived,omitempty"`
	// QueuedMS is from the first trigger of the pass to its start,
	// DurationMS its run, RetryInMS after a failure the wait before the
	// next try.
	QueuedMS   int64 `json:"queued_ms"`
	DurationMS int64 `json:"duration_ms"`
	RetryInMS  int64 `json:"retry_in_ms,omitempty"`
}

// report says how a pass went: with --json one object, with -v one line
// (on stdout), otherwise as sync says it (changes on stdout, errors on
// stderr, nothing for a pass that found nothing to do).
func (s *watchSet) report(rep watch.Report) {
	r := s.last
	e := s.e
	if e.json {
		l := passLine{Pass: rep.Pass.Seq, Start: rep.Start.Round(time.Millisecond), Name: r.Name, Kind: r.Kind, Full: rep.Pass.Full, Folders: rep.Pass.Folders,
			Sources: rep.Pass.Sources, OK: r.OK, Error: r.Error, Counts: r.Counts, Notes: r.Notes, Arrived: r.Arrived,
			QueuedMS: rep.Start.Sub(rep.Pass.Queued).Milliseconds(), DurationMS: rep.Duration.Milliseconds(), RetryInMS: rep.RetryIn.Milliseconds()}
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		enc.Encode(l)
		return
	}
	if e.verbose > 0 && !e.quiet {
		what := "all"
		if !rep.Pass.Full {
			what = strings.Join(rep.Pass.Folders, ", ")
		}
		var srcs []string
		for _, src := range rep.Pass.Sources {
			srcs = append(srcs, string(src))
		}
		outcome := changes(r.Counts)
		if outcome == "" {
			outcome = "no changes"
		}
		if !r.OK {
			outcome = "failed: " + r.Error
			if rep.RetryIn > 0 {
				outcome += fmt.Sprintf("; again in %v", rep.RetryIn.Round(100*time.Millisecond))
			}
		}
		fmt.Fprintf(e.stdout, "pass %d %s %s %s (%s): %s (%v)\n", rep.Pass.Seq, r.Kind, r.Name, what, strings.Join(srcs, ", "), outcome, rep.Duration.Round(time.Millisecond))
		return
	}
	if errors.As(r.err, new(interrupt)) {
		return // being stopped is no failure of the pass
	}
	printResults(e, []targetResult{r})
}

// changes sums up the non-zero counts ("fetched 2, flags to server 1").
func changes(counts map[string]int) string {
	var parts []string
	for _, k := range sortedNames(counts) {
		if v := counts[k]; v != 0 && k != "folders" && k != "unchanged" && k != "remaining" {
			parts = append(parts, fmt.Sprintf("%s %d", strings.ReplaceAll(k, "_", " "), v))
		}
	}
	return strings.Join(parts, ", ")
}
