package app

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/internal/app/options"
	"github.com/mdsync/mdsync/syncer"
)

// runList is `mdsync list [NAME...]`: each channel's folders on both sides,
// with their counts and what the folders patterns select. It changes
// nothing (no lock: it only reads).
func runList(ctx context.Context, e *env, c *cli.Context) error {
	cfg, err := loadConfig(e, c)
	if err != nil {
		return err
	}
	if err := flagsFirst(c); err != nil {
		return err
	}
	channels, _, err := cfg.Targets(c.Args().Slice())
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	db, err := dryRunState(ctx, cfg.StateDir)
	if err != nil {
		return exitf(ExitFailed, "%v", err)
	}
	defer db.Close()
	all := map[string][]syncer.FolderListing{}
	code := ExitOK
	for _, name := range channels {
		ch := cfg.Channel[name]
		acct := cfg.IMAP[ch.IMAP]
		pw, token, err := credentials(cfg, "imap."+ch.IMAP, &acct.Server)
		if err == nil {
			st, serr := openStoreFor(cfg, ch.Maildir, true)
			if serr != nil {
				err = serr
			} else {
				o := options.Channel(cfg, name, pw, token, nil)
				o.Store, o.DB = st, db
				all[name], err = syncer.List(ctx, o)
			}
		}
		if err != nil {
			e.errorf("channel %s: %v", name, err)
			code = withFailure(code, isTemporary(err))
			continue
		}
		if !e.json {
			fmt.Fprintf(e.stdout, "channel %s:\n", name)
			fmt.Fprintf(e.stdout, "  %-30s %8s %8s  %s\n", "FOLDER", "SERVER", "LOCAL", "")
			for _, f := range all[name] {
				fmt.Fprintf(e.stdout, "  %-30s %8s %8s  %s\n", f.Name, count(f.Server), count(f.Local), listNote(f))
			}
		}
	}
	if e.json {
		e.printJSON(map[string]any{"ok": code == ExitOK, "exit_code": code, "channels": all}, asText)
	}
	return exitWith(code)
}

func count(n int) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// listNote says what sync does with a folder.
func listNote(f syncer.FolderListing) string {
	switch {
	case !f.Selected:
		return "not selected by folders"
	case f.Server < 0 && f.Synced:
		return "gone on the server"
	case f.Local < 0 && f.Synced:
		return "removed locally"
	case f.Server < 0 || f.Local < 0:
		return "new: created on the other side by sync"
	}
	return "synced"
}
