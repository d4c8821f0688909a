package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnits: the user units in contrib/systemd pass systemd-analyze
// verify without a word (it warns about unknown keys and bad values, and
// still exits 0), with ExecStart pointed at the binary under test; and
// each ExecStart is a command line mdsync takes.
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze here")
	}
	src := filepath.Join("..", "..", "contrib", "systemd")
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var units []string
	execs := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "%h/go/bin/mdsync", binary)
		for _, l := range strings.Split(text, "\n") {
			if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
				execs[e.Name()] = v
			}
		}
		p := filepath.Join(dir, e.Name())
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, p)
	}
	for _, want := range []string{"mdsync.service", "mdsync.timer", "mdsync-watch.service"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("contrib/systemd has no %s", want)
		}
	}
	// --man=no: the man pages are not installed where the tests run
	out, err := exec.Command(analyze, append([]string{"verify", "--man=no"}, units...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for unit, line := range execs {
		args := strings.Fields(line)
		if args[0] != binary {
			t.Errorf("%s: ExecStart runs %s, not mdsync", unit, args[0])
			continue
		}
		// the same options and command, asking only for its help
		if out, err := exec.Command(binary, append(args[1:], "--help")...).CombinedOutput(); err != nil {
			t.Errorf("%s: %q is not a command line mdsync takes: %v\n%s", unit, line, err, out)
		}
	}
	if w := execs["mdsync-watch.service"]; !strings.HasSuffix(w, " watch") {
		t.Errorf("mdsync-watch.service runs %q, want mdsync watch", w)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "mdsync-watch.service")); !strings.Contains(string(b), "\nRestart=on-failure\n") {
		t.Error("mdsync-watch.service does not restart on failure")
	}
}
