package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/testserver"
)

// TestManPage: docs/mdsync.1 renders without warnings, and names every
// command the CLI has.
func TestManPage(t *testing.T) {
	man, err := exec.LookPath("man")
	if err != nil {
		if os.Getenv(testserver.RequireEnv) == "1" {
			t.Fatal("man is missing (make test installs man-db)")
		}
		t.Skip("no man here")
	}
	cmd := exec.Command(man, "--warnings", "-l", "../../docs/mdsync.1")
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("man: %v\n%s", err, out)
	}
	var warnings []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "warning:") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) > 0 {
		t.Errorf("man page warnings:\n%s", strings.Join(warnings, "\n"))
	}
	page := string(out)
	help, err := exec.Command(binary, "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	inCommands := false
	for _, l := range strings.Split(string(help), "\n") {
		switch {
		case strings.HasPrefix(l, "COMMANDS:"):
			inCommands = true
		case inCommands && strings.TrimSpace(l) == "":
			inCommands = false
		case inCommands:
			name := strings.TrimSuffix(strings.Fields(l)[0], ",")
			if name != "help" && !strings.Contains(page, name) {
				t.Errorf("the man page does not describe the %s command", name)
			}
		}
	}
}
