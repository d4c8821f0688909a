package app

import (
	"fmt"
	"runtime/debug"
)

// Version is set at build time (-ldflags "-X ...app.Version=v1.2.3").
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// versionLine is what --version and the version command print: the
// version, the commit it was built from (and whether the tree was dirty),
// and the Go version.
func versionLine() string {
	v := version()
	var rev, dirty, goV string
	if bi, ok := debug.ReadBuildInfo(); ok {
		goV = bi.GoVersion
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
				if len(rev) > 12 {
					rev = rev[:12]
				}
			case "vcs.modified":
				if kv.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
	}
	line := "mdsync " + v
	if rev != "" {
		line += " (" + rev + dirty + ")"
	}
	if goV != "" {
		line += " " + goV
	}
	return line
}

// runVersion is `mdsync version`.
func runVersion(e *env) error {
	fmt.Fprintln(e.stdout, versionLine())
	return nil
}
