package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/lock"
	"github.com/mdsync/mdsync/internal/migrate"
	"github.com/mdsync/mdsync/internal/migrate/mbsync"
	"github.com/mdsync/mdsync/internal/migrate/offlineimap"
	"github.com/mdsync/mdsync/state"
)

// importCommand is `mdsync import mbsync|offlineimap [FILE]`.
func importCommand(ctx context.Context, e *env, common func() []cli.Flag, before cli.BeforeFunc) *cli.Command {
	flags := append(common(),
		&cli.BoolFlag{Name: "force", Usage: "overwrite an existing mdsync config", DisableDefaultText: true},
	)
	sub := func(name, usage string, read importReader) *cli.Command {
		return &cli.Command{
			Name:                   name,
			Usage:                  usage,
			ArgsUsage:              "[FILE]",
			Flags:                  flags,
			Before:                 before,
			UseShortOptionHandling: true,
			Action:                 func(c *cli.Context) error { return runImport(ctx, e, c, read) },
		}
	}
	return &cli.Command{
		Name:  "import",
		Usage: "write an mdsync config from another tool's and adopt its sync state, so that the first sync changes nothing",
		Subcommands: []*cli.Command{
			sub("mbsync", "import ~/.mbsyncrc (or $XDG_CONFIG_HOME/isyncrc, or FILE) and mbsync's state", readMbsync),
			sub("offlineimap", "import ~/.offlineimaprc (or FILE) and OfflineIMAP's state", readOfflineIMAP),
		},
	}
}

// importReader reads another tool's config (path "" for its default).
type importReader func(ctx context.Context, path string) (string, *migrate.Result, error)

func readMbsync(ctx context.Context, path string) (string, *migrate.Result, error) {
	if path == "" {
		path = mbsync.DefaultConfigPath()
	}
	res, err := mbsync.Read(ctx, path, mbsync.Options{})
	return path, res, err
}

func readOfflineIMAP(ctx context.Context, path string) (string, *migrate.Result, error) {
	if path == "" {
		path = offlineimap.DefaultConfigPath()
	}
	res, err := offlineimap.Read(ctx, path, offlineimap.Options{})
	return path, res, err
}

// importSummary is the --json output of an import.
type importSummary struct {
	From    string   `json:"from"`
	Config  string   `json:"config"`
	Written bool     `json:"written"`
	Notes   []string `json:"notes"`
	Adopted adoption `json:"adopted"`
	Error   string   `json:"error,omitempty"`
}

func runImport(ctx context.Context, e *env, c *cli.Context, read importReader) (err error) {
	sum := importSummary{Notes: []string{}}
	defer func() {
		if e.json {
			if err != nil {
				sum.Error = err.Error()
			}
			e.printJSON(sum, escaped)
		}
	}()
	if c.NArg() > 1 {
		return exitf(ExitUsage, "import takes at most one FILE, got %d arguments", c.NArg())
	}
	from, res, err := read(ctx, c.Args().First())
	sum.From = from
	if err != nil {
		var me *migrate.Error
		if errors.As(err, &me) || errors.Is(err, fs.ErrNotExist) {
			return &exitError{code: ExitUsage, err: err}
		}
		return &exitError{code: ExitFailed, err: err}
	}
	for _, n := range res.Notes {
		sum.Notes = append(sum.Notes, n.String())
	}
	for i := range res.Config.IMAP {
		a := &res.Config.IMAP[i]
		if a.Password == "" && a.PasswordCommand == "" {
			a.PasswordEnv = "MDSYNC_PASSWORD_" + strings.ToUpper(strings.ReplaceAll(a.Name, "-", "_"))
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: imap.%s has no password in the file (the other tool asks for it); mdsync reads it from $%s, or set password_command", from, a.Name, a.PasswordEnv))
		}
	}
	for _, m := range res.Config.Maildir {
		if m.Layout == "flat" && m.Separator != "" && m.Separator != "." {
			sum.Notes = append(sum.Notes, fmt.Sprintf("%s: maildir.%s: mdsync's flat layout joins folder levels with \".\", the tree with %q: its nested folders will not be found under the same directories", from, m.Name, m.Separator))
		}
	}
	out := lineageString(c, "config")
	if out == "" {
		out = config.DefaultPath()
	}
	sum.Config = out
	text := migrate.Render(res.Config, from, "")
	cfg, err := config.Parse(out, text)
	if err != nil {
		return exitf(ExitFailed, "the imported config is not valid (a bug of mdsync import; please report it): %v", err)
	}
	for _, n := range sum.Notes {
		e.infof("note: %s", n)
	}
	if e.dryRun {
		if !e.json {
			fmt.Fprintf(e.stdout, "%s", text)
		}
		e.infof("dry run: %s not written, no state adopted (%d folders, %d messages found)", out, len(res.Folders), countPairs(res))
		return nil
	}
	if _, err := os.Stat(out); err == nil && !c.Bool("force") {
		return exitf(ExitUsage, "%s exists; move it away or use --force to overwrite it", out)
	}
	if err := writeFileAtomic(out, text, 0o600); err != nil {
		return exitf(ExitFailed, "write the config: %v", err)
	}
	sum.Written = true
	e.infof("wrote %s", out)

	if len(res.Folders) == 0 {
		return nil
	}
	delims, notes := serverDelims(ctx, cfg)
	lk, err := lock.Acquire(cfg.StateDir)
	if err != nil {
		if errors.Is(err, lock.ErrHeld) {
			return exitf(ExitTemporary, "another mdsync run holds %s; the config is written, run the import again to adopt the state", cfg.StateDir)
		}
		return exitf(ExitFailed, "lock the state: %v", err)
	}
	defer lk.Release()
	db, err := state.Open(ctx, cfg.StateDir)
	if err != nil {
		return exitf(ExitFailed, "open the state: %v", err)
	}
	defer db.Close()
	sum.Adopted, err = adopt(ctx, db, res, delims)
	sum.Adopted.Notes = append(notes, sum.Adopted.Notes...)
	for _, n := range sum.Adopted.Notes {
		e.infof("note: %s", n)
	}
	if err != nil {
		return exitf(ExitFailed, "%v", err)
	}
	e.infof("adopted the state of %d messages in %d folders; now run: mdsync sync", sum.Adopted.Messages, sum.Adopted.Folders)
	return nil
}

func countPairs(res *migrate.Result) int {
	n := 0
	for _, f := range res.Folders {
		n += len(f.Pairs)
	}
	return n
}

// writeFileAtomic writes a file whole or not at all: into a temporary file
// beside it, fsynced, then renamed over the name.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
