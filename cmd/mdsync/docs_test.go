package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// TestManPage: docs/mdsync.1 and docs/mdsync.toml.5 render without
// warnings; mdsync(1) names every command the CLI has, mdsync.toml(5)
// every section.
func TestManPage(t *testing.T) {
	man, err := exec.LookPath("man")
	if err != nil {
		if os.Getenv(dovecot.RequireEnv) == "1" {
			t.Fatal("man is missing (make test installs man-db)")
		}
		t.Skip("no man here")
	}
	render := func(file string) string {
		cmd := exec.Command(man, "--warnings", "-l", file)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("man %s: %v\n%s", file, err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "warning:") {
				t.Errorf("%s: %s", file, l)
			}
		}
		return string(out)
	}
	page := render("../../docs/mdsync.1")
	conf := render("../../docs/mdsync.toml.5")
	for _, sec := range []string{"[imap.NAME]", "[maildir.NAME]", "[channel.NAME]", "[pop.NAME]", "oauth2", "token_command", "names", "layout"} {
		if !strings.Contains(conf, sec) {
			t.Errorf("mdsync.toml(5) does not describe %s", sec)
		}
	}
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
			// an entry of COMMANDS: the name at the start of an indented line
			entry := regexp.MustCompile(`(?m)^ {7}` + regexp.QuoteMeta(name) + `\b`)
			if name != "help" && !entry.MatchString(page) {
				t.Errorf("the man page does not describe the %s command", name)
			}
		}
	}
}
