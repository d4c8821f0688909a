package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/maildir"
)

func loadConfig(e *env, c *cli.Context) (*config.Config, error) {
	path := lineageString(c, "config")
	if path == "" {
		path = config.DefaultPath()
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: err}
	}
	if len(cfg.Warnings) > 0 && (!e.quiet || firstWarning(e, cfg)) {
		for _, w := range cfg.Warnings {
			fmt.Fprintf(e.stderr, "mdsync: warning: %s\n", w)
		}
	}
	return cfg, nil
}

// firstWarning reports whether the config's warnings are new since the
// last -q run said them: cron mails them once per change of the config
// file, not every five minutes.
func firstWarning(e *env, cfg *config.Config) bool {
	fi, err := os.Stat(cfg.File)
	if err != nil {
		return true
	}
	mark := fmt.Sprintf("%s %o %d %s\n", cfg.File, fi.Mode().Perm(), fi.ModTime().UnixNano(), strings.Join(cfg.Warnings, "; "))
	path := filepath.Join(cfg.StateDir, "warned")
	if b, err := os.ReadFile(path); err == nil && string(b) == mark {
		return false
	}
	if !e.dryRun {
		if os.MkdirAll(cfg.StateDir, 0o700) == nil {
			writeFileAtomic(path, []byte(mark), 0o600)
		}
	}
	return true
}

func openStore(cfg *config.Config, name string) (*maildir.Store, error) {
	return openStoreFor(cfg, name, false)
}

// openStoreFor opens a maildir section's store; a dry run creates no root.
func openStoreFor(cfg *config.Config, name string, dryRun bool) (*maildir.Store, error) {
	m := cfg.Maildir[name]
	o := maildir.Options{Layout: maildir.Verbatim, NoCreate: dryRun}
	switch m.Layout {
	case "maildir++":
		o.Layout = maildir.MaildirPP
	case "flat":
		o.Layout = maildir.Flat
	}
	if m.Names == "mutf7" {
		o.Names = maildir.MUTF7
	}
	return maildir.OpenWith(m.Path, o)
}
