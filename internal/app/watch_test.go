package app

import (
	"fmt"
	"strings"
	"testing"
)

// TestWatchUsageErrors: what watch refuses, it refuses at once with exit 2
// and one line that says why, before it connects anywhere.
func TestWatchUsageErrors(t *testing.T) {
	dir := t.TempDir()
	conf := writeConfig(t, dir, fmt.Sprintf(`state_dir = %q
[imap.work]
host = "127.0.0.1"
port = 1
tls = "none"
user = "me"
password = "pw"
[maildir.work]
path = %q
[channel.work]
imap = "work"
maildir = "work"
`, dir+"/state", dir+"/mail"))
	bad := writeConfig(t, t.TempDir(), "[channel.work]\nimap = \"work\"\npoll = \"soon\"\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"dry run", []string{"-c", conf, "watch", "--dry-run"}, "flag provided but not defined: -dry-run"},
		{"dry run before the command", []string{"-c", conf, "-n", "watch"}, "watch changes things by design"},
		{"unknown name", []string{"-c", conf, "watch", "wrok"}, `no channel or pop account named "wrok" (did you mean "work"?)`},
		{"flag after a name", []string{"-c", conf, "watch", "work", "-v"}, `"-v" comes after a name`},
		{"config error", []string{"-c", bad, "watch"}, "config.toml:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, ExitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Fatalf("stderr %q, want one line with %q", stderr, tc.want)
			}
			if stdout != "" {
				t.Fatalf("stdout %q, want nothing", stdout)
			}
		})
	}
}
