package app

import (
	"fmt"
	"sort"
	"strings"
)

// summary is the --json output of sync.
type summary struct {
	Version  string `json:"version"`
	DryRun   bool   `json:"dry_run"`
	OK       bool   `json:"ok"`
	ExitCode int    `json:"exit_code"`
	// Interrupted: a SIGINT or SIGTERM ended the run early
	Interrupted bool           `json:"interrupted,omitempty"`
	Targets     []targetResult `json:"targets"`
}

// printResults says how each target went, as text: a failure on stderr;
// a dry run's plan, or the counts that are not zero and the notices (every
// note with -v), on stdout.
func printResults(e *env, results []targetResult) {
	for _, r := range results {
		if !r.OK {
			// Some errors name their target already (popfetch's begin
			// "pop NAME: "); the line names it once. Error is also the
			// JSON's error, so the prefix is not dropped from it.
			if prefix := r.Kind + " " + r.Name + ": "; strings.HasPrefix(r.Error, prefix) {
				e.errorf("%s", r.Error)
			} else {
				e.errorf("%s%s", prefix, r.Error)
			}
		}
		if e.dryRun && !e.quiet {
			fmt.Fprintf(e.stdout, "%s %s: plan\n", r.Kind, r.Name)
			for _, pf := range r.Plan {
				if pf.Blocked != "" {
					fmt.Fprintf(e.stdout, "  %s: BLOCKED: %s\n", pf.Folder, pf.Blocked)
				}
				if len(pf.Actions) == 0 {
					continue
				}
				fmt.Fprintf(e.stdout, "  %s:\n", pf.Folder)
				for _, a := range pf.Actions {
					fmt.Fprintf(e.stdout, "    %s\n", a)
				}
			}
			continue
		}
		var parts []string
		keys := make([]string, 0, len(r.Counts))
		for k, v := range r.Counts {
			if v != 0 && k != "folders" && k != "unchanged" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", strings.ReplaceAll(k, "_", " "), r.Counts[k]))
		}
		if len(parts) > 0 {
			e.infof("%s %s: %s", r.Kind, r.Name, strings.Join(parts, ", "))
		} else if e.verbose > 0 && r.OK {
			e.infof("%s %s: no changes", r.Kind, r.Name)
		}
		shown := r.notices
		if e.verbose > 0 {
			shown = r.Notes
		}
		for _, n := range shown {
			e.infof("  %s", n)
		}
	}
}
