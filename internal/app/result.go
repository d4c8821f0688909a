package app

import (
	"context"
	"errors"
	"time"

	"github.com/mdsync/mdsync/internal/imapconn"
)

// targetResult is the outcome of one channel or POP account.
type targetResult struct {
	Name   string         `json:"name"`
	Kind   string         `json:"kind"`
	OK     bool           `json:"ok"`
	Error  string         `json:"error,omitempty"`
	Counts map[string]int `json:"counts"`
	Notes  []string       `json:"notes,omitempty"`
	// notices are the notes said without -v
	notices []string
	Plan    []planFolder `json:"plan,omitempty"`
	// Arrived: the messages downloaded (with --json, and for hooks)
	Arrived []arrival `json:"arrived,omitempty"`
	landed  []arrival // folder and path only
	temp    bool
	start   time.Time
	end     time.Time
}

type planFolder struct {
	Folder  string   `json:"folder"`
	Blocked string   `json:"blocked,omitempty"`
	Actions []string `json:"actions"`
}

func classify(err error) (temp bool) {
	return errors.Is(err, imapconn.ErrTemporary) || errors.Is(err, context.DeadlineExceeded)
}
