package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// countFiles counts the message files of a folder (cur/ and new/).
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	for _, sub := range []string{"cur", "new"} {
		ents, _ := os.ReadDir(filepath.Join(dir, sub))
		n += len(ents)
	}
	return n
}

// TestInterrupt sends SIGINT (and SIGTERM, and SIGINT twice) to a real
// mdsync during a first sync of a few thousand messages: it exits within 2 s
// with 130 (143), says in one line how many messages it kept, and those are
// in the state: the next run fetches only the rest.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	d := dovecot.Start(t)
	const n = 4000
	var msgs [][]byte
	for i := 0; i < n; i++ {
		msgs = append(msgs, dovecot.GenMessage(9, i, 3000))
	}
	cases := []struct {
		name    string
		signals []syscall.Signal
		code    int
		line    string
	}{
		{"SIGINT", []syscall.Signal{syscall.SIGINT}, 130, `^mdsync: interrupted: (\d+) messages kept, run again to continue$`},
		{"SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, `^mdsync: interrupted: (\d+) messages kept, run again to continue$`},
		// the second signal exits at once, unless the first one's orderly
		// end came before it
		{"SIGINT twice", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, 130, `^mdsync: (?:SIGINT again: stopped at once|interrupted: (\d+) messages kept), run again to continue$`},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAccount(t, d, "sig"+strconv.Itoa(i))
			d.BulkLoad(t, a.user, "INBOX", msgs)
			cmd := exec.Command(binary, "--config", a.conf, "-q", "sync")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { cmd.Wait(); close(exited) }()
			// wait until the download is well under way
			inbox := filepath.Join(a.root, "INBOX")
			deadline := time.Now().Add(60 * time.Second)
			for countFiles(t, inbox) < n/10 {
				select {
				case <-exited:
					t.Fatalf("the run ended before the signal:\n%s", out.String())
				case <-time.After(5 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatal("no download after 60 s")
				}
			}
			sent := time.Now()
			for _, s := range tc.signals {
				cmd.Process.Signal(s)
			}
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 10 s after the signal:\n%s", out.String())
			}
			if took := time.Since(sent); took > 2*time.Second {
				t.Errorf("exit took %v after the signal", took)
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			text := strings.TrimSpace(out.String())
			t.Logf("exit %d %v after the signal: %s", cmd.ProcessState.ExitCode(), time.Since(sent).Round(time.Millisecond), text)
			m := regexp.MustCompile(tc.line).FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("output %q, want one line matching %s", text, tc.line)
			}
			onDisk := countFiles(t, inbox)
			if len(m) > 1 && m[1] != "" {
				if kept, _ := strconv.Atoi(m[1]); kept != onDisk {
					t.Errorf("said %d messages kept, %d are on disk", kept, onDisk)
				}
			}
			if onDisk == n {
				t.Fatalf("the signal did not stop the run (all %d messages on disk)", n)
			}
			// the next run fetches only what is missing
			cmd = exec.Command(binary, "--config", a.conf, "--json", "sync")
			var next bytes.Buffer
			cmd.Stdout = &next
			if err := cmd.Run(); err != nil {
				t.Fatalf("the run after: %v\n%s", err, next.String())
			}
			var sum struct {
				Targets []struct {
					Counts map[string]int `json:"counts"`
				} `json:"targets"`
			}
			if err := json.Unmarshal(next.Bytes(), &sum); err != nil || len(sum.Targets) != 1 {
				t.Fatalf("json: %v\n%s", err, next.String())
			}
			if got := sum.Targets[0].Counts["fetched"]; got != n-onDisk {
				t.Errorf("the run after fetched %d, want %d (%d were on disk)", got, n-onDisk, onDisk)
			}
			if got := countFiles(t, inbox); got != n {
				t.Errorf("%d messages on disk after the run after, want %d", got, n)
			}
		})
	}
}
