package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultPath returns the config path from MDSYNC_CONFIG or XDG.
func DefaultPath() string {
	if p := os.Getenv("MDSYNC_CONFIG"); p != "" {
		return p
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "mdsync", "config.toml")
}

// expandPath is ExpandPath for a path of the config: a relative path is
// relative to the config file's directory (as in mbsync 1.5), never to
// the directory mdsync happens to be run from (cron's is $HOME, a shell's
// anything).
func (c *Config) expandPath(p string) (string, error) {
	base := "."
	if c.File != "" {
		base = filepath.Dir(c.File)
	}
	return ExpandPathFrom(p, base)
}

// ExpandPathFrom expands ~ and $VARS and makes the path absolute, relative
// to base.
func ExpandPathFrom(p, base string) (string, error) {
	var missing []string
	p = os.Expand(p, func(v string) string {
		val, ok := os.LookupEnv(v)
		if !ok {
			missing = append(missing, v)
		}
		return val
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable $%s is not set", missing[0])
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("expand ~: %w", err)
		}
		p = filepath.Join(home, p[1:])
	}
	if p == "" {
		return "", errors.New("empty path")
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return filepath.Abs(p)
}

func xdgState() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "state")
}
