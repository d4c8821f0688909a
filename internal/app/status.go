package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/state"
)

type statusRow struct {
	Name        string `json:"name"`
	lastRun     time.Time
	lastSuccess time.Time
	Kind        string         `json:"kind"`
	LastRun     string         `json:"last_run,omitempty"`
	LastSuccess string         `json:"last_success,omitempty"`
	OK          bool           `json:"ok"`
	Error       string         `json:"error,omitempty"`
	LastCounts  map[string]int `json:"last_counts,omitempty"`
	Folders     int            `json:"folders,omitempty"`
	Messages    int            `json:"messages"`
}

// runStatus shows what the state DB knows of each channel and account.
func runStatus(ctx context.Context, e *env, c *cli.Context) error {
	cfg, err := loadConfig(e, c)
	if err != nil {
		return err
	}
	var rows []statusRow
	if _, err := os.Stat(filepath.Join(cfg.StateDir, state.FileName)); err == nil {
		db, err := state.Open(ctx, cfg.StateDir)
		if err != nil {
			return exitf(ExitFailed, "%v", err)
		}
		defer db.Close()
		ts, err := db.Targets(ctx)
		if err != nil {
			return exitf(ExitFailed, "%v", err)
		}
		seen := map[string]bool{}
		for _, t := range ts {
			row := statusRow{Name: t.Name, Kind: t.Kind, OK: t.OK, Error: t.Error, LastRun: t.LastEnd.UTC().Format(time.RFC3339), lastRun: t.LastEnd, lastSuccess: t.LastSuccess}
			if !t.LastSuccess.IsZero() {
				row.LastSuccess = t.LastSuccess.UTC().Format(time.RFC3339)
			}
			json.Unmarshal([]byte(t.Counts), &row.LastCounts)
			if t.Kind == "channel" {
				row.Folders, row.Messages, _ = db.Counts(ctx, t.Name)
			} else {
				row.Messages, _ = db.POPCount(ctx, t.Name)
			}
			rows = append(rows, row)
			seen[t.Kind+"."+t.Name] = true
		}
		for _, n := range sortedNames(cfg.Channel) {
			if !seen["channel."+n] {
				rows = append(rows, statusRow{Name: n, Kind: "channel"})
			}
		}
		for _, n := range sortedNames(cfg.POP) {
			if !seen["pop."+n] {
				rows = append(rows, statusRow{Name: n, Kind: "pop"})
			}
		}
	} else {
		for _, n := range sortedNames(cfg.Channel) {
			rows = append(rows, statusRow{Name: n, Kind: "channel"})
		}
		for _, n := range sortedNames(cfg.POP) {
			rows = append(rows, statusRow{Name: n, Kind: "pop"})
		}
	}
	// a script can ask "did the last run of everything work?"
	code := ExitOK
	for _, r := range rows {
		if r.LastRun != "" && !r.OK {
			code = ExitFailed
		}
	}
	if e.json {
		e.printJSON(map[string]any{"state_dir": cfg.StateDir, "ok": code == ExitOK, "exit_code": code, "targets": rows}, escaped)
	} else {
		for _, r := range rows {
			what := fmt.Sprintf("%d messages in %d folders", r.Messages, r.Folders)
			if r.Kind == "pop" {
				what = fmt.Sprintf("%d messages fetched and remembered", r.Messages)
			}
			switch {
			case r.LastRun == "":
				fmt.Fprintf(e.stdout, "%s %s: never run\n", r.Kind, r.Name)
			case r.OK:
				fmt.Fprintf(e.stdout, "%s %s: ok at %s; %s\n", r.Kind, r.Name, localTime(r.lastRun), what)
			default:
				last := "never"
				if !r.lastSuccess.IsZero() {
					last = localTime(r.lastSuccess)
				}
				fmt.Fprintf(e.stdout, "%s %s: FAILED at %s: %s (last success: %s)\n", r.Kind, r.Name, localTime(r.lastRun), r.Error, last)
			}
		}
	}
	return exitWith(code)
}

// localTime is a time as people read it: local, with its offset.
func localTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 -0700") }
