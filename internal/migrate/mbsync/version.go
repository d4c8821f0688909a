package mbsync

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// version is the mbsync release whose files are being read. Three
// differences matter here:
//
//   - 1.4 keeps IMAP mailbox names in modified UTF-7 everywhere (box names,
//     state file names, Maildir directories); 1.5 converts them to UTF-8.
//   - 1.4 keeps its state in ~/.mbsync/ by default; 1.5 in
//     $XDG_STATE_HOME/isync/, unless only ~/.mbsync/ exists.
//   - 1.5 resolves relative paths against the config file's directory; 1.4
//     against the directory mbsync was started in.
type version int

const (
	vUnknown version = iota
	v14
	v15
)

func (v version) String() string {
	return [...]string{"unknown", "1.4", "1.5"}[v]
}

// evidence is something in the files that only one version writes or
// accepts.
type evidence struct {
	V    version
	Line int
	What string
}

// parseVersion reads "1.4", "1.4.4", "isync 1.5.0" and the like.
func parseVersion(s string) version {
	m := regexp.MustCompile(`\b1\.(\d+)`).FindStringSubmatch(s)
	switch {
	case m == nil:
		return vUnknown
	case m[1] <= "4" && len(m[1]) == 1:
		return v14
	default:
		return v15
	}
}

// probeVersion runs the installed mbsync's --version. It is the fallback
// when the files say nothing: the user imports on the machine that ran
// mbsync, usually with the release that wrote the files.
func probeVersion(ctx context.Context) string {
	bin, err := exec.LookPath("mbsync")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// detectVersion decides which mbsync wrote the files, and says why. In
// order: Options.Version; keywords only one release accepts; the config
// file's name (only 1.5 reads isyncrc); a state directory only 1.5 would
// use; the installed mbsync; and failing all that 1.4, the release of
// Debian 12 and Ubuntu 22.04 and 24.04.
func (r *reader) detectVersion(rc *rcFile) (version, string) {
	if v := parseVersion(r.opt.Version); v != vUnknown {
		return v, "given"
	}
	for _, want := range []version{v15, v14} {
		for _, e := range rc.Evidence {
			if e.V == want {
				return want, e.What + " (line " + itoa(e.Line) + ") is only valid in mbsync " + want.String()
			}
		}
	}
	if filepath.Base(r.path) == "isyncrc" {
		return v15, "only mbsync 1.5 reads isyncrc"
	}
	if rc.Globals.last("SyncState") == nil {
		old := dirExists(filepath.Join(r.home, ".mbsync"))
		xdg := dirExists(filepath.Join(r.stateHome, "isync"))
		if xdg && !old {
			return v15, "its state is in " + filepath.Join(r.stateHome, "isync")
		}
	}
	probe := r.opt.Probe
	if probe == nil {
		probe = probeVersion
	}
	if out := probe(r.ctx); out != "" {
		if v := parseVersion(out); v != vUnknown {
			return v, "the installed mbsync is " + out
		}
	}
	return v14, "assumed: nothing in the files tells the release apart"
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
