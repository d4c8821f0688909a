package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/mdsync/mdsync/internal/config"
)

// arrival is one message a run downloaded, as hooks and --json see it.
type arrival struct {
	Folder    string `json:"folder"`
	Path      string `json:"path"`
	MessageID string `json:"message_id,omitempty"`
	From      string `json:"from,omitempty"`
	Subject   string `json:"subject,omitempty"`
	Date      string `json:"date,omitempty"`
}

// describe reads what a hook wants of a delivered file's header.
func describe(folder, path string) arrival {
	a := arrival{Folder: folder, Path: path}
	f, err := os.Open(path)
	if err != nil {
		return a
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		return a
	}
	dec := new(mime.WordDecoder)
	decode := func(s string) string {
		if d, err := dec.DecodeHeader(s); err == nil {
			return d
		}
		return s
	}
	a.MessageID = strings.TrimSpace(m.Header.Get("Message-Id"))
	a.From = decode(m.Header.Get("From"))
	a.Subject = decode(m.Header.Get("Subject"))
	if t, err := m.Header.Date(); err == nil {
		a.Date = t.Format(time.RFC3339)
	}
	return a
}

// runHook runs one hook command with sh -c: the arrivals as JSON on its
// stdin, the run's counts in MDSYNC_* variables, killed (its process group)
// after the timeout. A failing hook is reported, never fatal.
func runHook(ctx context.Context, e *env, which, cmdline string, timeout time.Duration, r *targetResult) {
	if cmdline == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", cmdline)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	in, _ := json.Marshal(r.Arrived)
	if r.Arrived == nil {
		in = []byte("[]")
	}
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout, cmd.Stderr = e.stderr, e.stderr
	cmd.Env = append(os.Environ(),
		"MDSYNC_HOOK="+which, "MDSYNC_KIND="+r.Kind, "MDSYNC_NAME="+r.Name,
		fmt.Sprintf("MDSYNC_OK=%v", r.OK), fmt.Sprintf("MDSYNC_ARRIVED=%d", len(r.Arrived)))
	for k, v := range r.Counts {
		cmd.Env = append(cmd.Env, fmt.Sprintf("MDSYNC_%s=%d", strings.ToUpper(k), v))
	}
	err := cmd.Run()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		msg := fmt.Sprintf("%s %s: %s hook did not end within %v; stopped", r.Kind, r.Name, which, timeout)
		e.errorf("%s", msg)
		r.Notes = append(r.Notes, msg)
	case err != nil:
		msg := fmt.Sprintf("%s %s: %s hook failed: %v", r.Kind, r.Name, which, err)
		e.errorf("%s", msg)
		r.Notes = append(r.Notes, msg)
	}
}

// hooksOf returns the hooks of a target.
func hooksOf(cfg *config.Config, kind, name string) config.Hooks {
	if kind == "channel" {
		return cfg.Channel[name].Hooks
	}
	return cfg.POP[name].Hooks
}

// withHooks runs a target's sync between its hooks (none in a dry run),
// and describes what arrived when --json or a hook wants it.
func withHooks(ctx context.Context, e *env, cfg *config.Config, kind, name string, sync func() targetResult) targetResult {
	h := hooksOf(cfg, kind, name)
	if !e.dryRun {
		runHook(ctx, e, "pre_sync", h.PreSync, h.HookTimeoutDur, &targetResult{Name: name, Kind: kind, OK: true, Counts: map[string]int{}})
	}
	r := sync()
	if e.json || h.PostSync != "" || h.NewMail != "" {
		r.Arrived = make([]arrival, 0, len(r.landed))
		for _, a := range r.landed {
			r.Arrived = append(r.Arrived, describe(a.Folder, a.Path))
		}
	}
	if !e.dryRun && ctx.Err() == nil {
		runHook(ctx, e, "post_sync", h.PostSync, h.HookTimeoutDur, &r)
		if len(r.landed) > 0 {
			runHook(ctx, e, "new_mail", h.NewMail, h.HookTimeoutDur, &r)
		}
	}
	return r
}
