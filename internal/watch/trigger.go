// Package watch keeps targets (channels, POP accounts) in sync as things
// change: trigger sources (IMAP IDLE, a poll timer, file system events,
// a wake-up after suspend) send Triggers, and a Loop merges them into
// passes it runs one at a time. It knows nothing of the config: what a
// target is and how a pass syncs it are given by the caller.
package watch

import (
	"slices"
	"time"
)

// Source says what caused a trigger.
type Source string

const (
	SourceStart     Source = "start"     // the first pass after starting (or reloading)
	SourceIdle      Source = "idle"      // the server said a folder changed (IDLE)
	SourceConnect   Source = "connect"   // an IDLE connection was (re)established
	SourcePoll      Source = "poll"      // the poll interval passed
	SourceLocal     Source = "local"     // files changed in the local Maildir
	SourceResume    Source = "resume"    // the machine woke up from suspend
	SourceSignal    Source = "signal"    // SIGUSR1
	SourceRetry     Source = "retry"     // a failed pass is tried again
	SourceOverflow  Source = "overflow"  // the file system event queue overflowed
	SourceStructure Source = "structure" // a folder appeared or went away locally
)

// Trigger asks for a pass over a target: over some of its folders, or all
// of it (Full).
type Trigger struct {
	Target  string
	Folders []string // folder names; ignored with Full
	Full    bool
	Source  Source
}

// Pass is one sync of a target that the Loop asks for: Full, or only the
// Folders that changed.
type Pass struct {
	Seq     int // 1, 2, ... in the order passes start
	Target  string
	Full    bool
	Folders []string // sorted, without duplicates; empty with Full
	Sources []Source // what asked for it, sorted, without duplicates
	// Queued is when the first trigger merged into this pass came.
	Queued time.Time
}

// PassResult is what a pass did, for the report.
type PassResult struct {
	// Counts are the numbers of changes by kind (fetched, appended, ...).
	Counts map[string]int
	// Temporary marks a failure worth retrying soon (an unreachable
	// server, a lock held by another run), as opposed to one that needs a
	// change of config or data.
	Temporary bool
}

// pending is the merge of the triggers for one target not yet run.
type pending struct {
	full    bool
	folders map[string]bool
	sources map[Source]bool
	queued  time.Time
}

func newPending(now time.Time) *pending {
	return &pending{folders: map[string]bool{}, sources: map[Source]bool{}, queued: now}
}

// add merges a trigger in.
func (p *pending) add(t Trigger) {
	p.sources[t.Source] = true
	if t.Full {
		p.full = true
		return
	}
	for _, f := range t.Folders {
		p.folders[f] = true
	}
}

// addPass merges a pass back in (to run it again).
func (p *pending) addPass(ps Pass) {
	p.add(Trigger{Target: ps.Target, Folders: ps.Folders, Full: ps.Full, Source: SourceRetry})
}

// pass turns the merge into a Pass.
func (p *pending) pass(target string, seq int) Pass {
	ps := Pass{Seq: seq, Target: target, Full: p.full, Queued: p.queued}
	if !p.full {
		for f := range p.folders {
			ps.Folders = append(ps.Folders, f)
		}
		slices.Sort(ps.Folders)
	}
	for s := range p.sources {
		ps.Sources = append(ps.Sources, s)
	}
	slices.Sort(ps.Sources)
	return ps
}

// empty reports whether nothing was asked (a trigger with neither Full nor
// folders).
func (p *pending) empty() bool { return !p.full && len(p.folders) == 0 }
