package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/state"
)

// targetResult is the outcome of one channel or POP account. Its exported
// fields are what --json says of it (the README's schema, in this order);
// the others are what the text output, the hooks and the decisions of
// the run take from it.
type targetResult struct {
	Name   string         `json:"name"`
	Kind   string         `json:"kind"`
	OK     bool           `json:"ok"`
	Error  string         `json:"error,omitempty"`
	Counts map[string]int `json:"counts"` // channelCounts, popCounts
	Notes  []string       `json:"notes,omitempty"`
	// notices are the notes said without -v
	notices []string
	Plan    []planFolder `json:"plan,omitempty"`
	// Arrived: the messages downloaded (with --json, and for hooks)
	Arrived []arrival `json:"arrived,omitempty"`
	landed  []arrival // folder and path only
	// kept is how many messages the run copied (down or up): what an
	// interrupted run says it kept
	kept int
	// err is the failure Error says, for the decisions made on it (a
	// damaged state is rebuilt); nil when the outcome was set by hand
	err   error
	temp  bool
	start time.Time
	end   time.Time
}

type planFolder struct {
	Folder  string   `json:"folder"`
	Blocked string   `json:"blocked,omitempty"`
	Actions []string `json:"actions"`
}

// failed is r ended now by err.
func (r targetResult) failed(err error) targetResult {
	r.OK, r.Error, r.err, r.temp, r.end = false, err.Error(), err, isTemporary(err), time.Now()
	return r
}

// isTemporary reports whether a failure may pass by itself (exit 75: a
// server that cannot be reached, a timeout) rather than last until
// something is changed (exit 1).
func isTemporary(err error) bool {
	return errors.Is(err, mailnet.ErrTemporary) || errors.Is(err, context.DeadlineExceeded)
}

// recordTarget writes r into the state as its target's last run, which
// status shows. It is written after an interrupt too (ctx cancelled):
// status then says the run was interrupted.
func recordTarget(ctx context.Context, db *state.DB, r targetResult) error {
	counts, _ := json.Marshal(r.Counts) // a map of ints always marshals
	t := state.Target{Name: r.Name, Kind: r.Kind, LastStart: r.start, LastEnd: r.end, OK: r.OK, Error: r.Error, Counts: string(counts)}
	if err := db.RecordTarget(context.WithoutCancel(ctx), t); err != nil {
		return fmt.Errorf("record the run of %s %s: %w", r.Kind, r.Name, err)
	}
	return nil
}
