package app

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/internal/config"
)

func init() {
	// -v is --verbose here; --version keeps no short alias.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version", DisableDefaultText: true}
	cli.VersionPrinter = func(c *cli.Context) { fmt.Fprintln(c.App.Writer, versionLine()) }
	cli.HelpFlag = &cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help", DisableDefaultText: true}
}

// helpFooter ends the top-level help.
const helpFooter = `EXIT STATUS:
   0 everything synced; 1 something failed and will until it is changed; 2 usage or config error;
   75 temporary (unreachable server, lock held): try again later; 130/143 interrupted

   The commands are in man mdsync, the config format in man mdsync.toml; both in the README.`

// newCLI is the command table: mdsync's global flags and its commands,
// each running its action with ctx and e. A mistyped command name is left
// in notFound: urfave/cli reports it to CommandNotFound and returns no
// error.
func newCLI(ctx context.Context, e *env, notFound *string) *cli.App {
	common, before := commonFlags, e.readFlags
	// usage errors are said once, on stderr, with exit 2 (urfave would
	// print the whole help on stdout and the error twice)
	usageErr := func(c *cli.Context, err error, _ bool) error {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%v (see mdsync --help)", err)}
	}
	app := &cli.App{
		OnUsageError:           usageErr,
		CommandNotFound:        func(c *cli.Context, name string) { *notFound = name },
		CustomAppHelpTemplate:  cli.AppHelpTemplate + "\n" + helpFooter + "\n",
		Name:                   "mdsync",
		Usage:                  "two-way IMAP <-> Maildir sync and POP3 fetching, safe to run from cron",
		Version:                version(),
		Writer:                 e.stdout,
		ErrWriter:              e.stderr,
		Flags:                  common(),
		Before:                 before,
		ExitErrHandler:         func(*cli.Context, error) {},
		EnableBashCompletion:   true,
		UseShortOptionHandling: true,
		Commands: []*cli.Command{
			{
				Name:      "sync",
				Usage:     "synchronise the named channels and POP accounts (all when none)",
				ArgsUsage: "[NAME...]",
				Flags: append(common(),
					&cli.StringSliceFlag{Name: "force-delete", Usage: "let the run delete more than max_delete in `FOLDER`, or sync it although its UIDVALIDITY changed twice in a row (repeatable)"},
					&cli.StringSliceFlag{Name: "redownload", Usage: "forget what the state knows of channel or POP account `NAME` and download its mail again, into a missing or empty Maildir (repeatable)"}),
				Before:                 before,
				UseShortOptionHandling: true,
				Action:                 func(c *cli.Context) error { return runSync(ctx, e, c) },
			},
			{
				Name:                   "list",
				Usage:                  "list each channel's folders on both sides, with counts and what folders selects",
				ArgsUsage:              "[NAME...]",
				Flags:                  common(),
				Before:                 before,
				UseShortOptionHandling: true,
				Action:                 func(c *cli.Context) error { return runList(ctx, e, c) },
			},
			{
				Name:                   "check",
				Usage:                  "validate the config and try each login",
				Flags:                  common(),
				Before:                 before,
				UseShortOptionHandling: true,
				Action:                 func(c *cli.Context) error { return runCheck(ctx, e, c) },
			},
			{
				Name:                   "status",
				Usage:                  "show the last run, counts and errors of each channel and account",
				Flags:                  common(),
				Before:                 before,
				UseShortOptionHandling: true,
				Action:                 func(c *cli.Context) error { return runStatus(ctx, e, c) },
			},
			importCommand(ctx, e, common, before),
			watchCommand(ctx, e, common, before),
			{
				Name:      "login",
				Usage:     "sign an OAuth2 account (Gmail, Microsoft 365, ...) in; its tokens are kept for every later run",
				ArgsUsage: "NAME",
				Flags: append(common(),
					&cli.StringFlag{Name: "flow", Usage: "loopback (a browser on this machine) or device (a code to enter on any device); default: the provider's"}),
				Before:                 before,
				UseShortOptionHandling: true,
				Action:                 func(c *cli.Context) error { return runLogin(ctx, e, c) },
			},
			{
				Name:   "version",
				Usage:  "print the version",
				Action: func(c *cli.Context) error { return runVersion(e) },
			},
		},
	}
	for _, c := range app.Commands {
		setUsageError(c, usageErr)
	}
	return app
}

// setUsageError gives a command and its subcommands the usage-error rule.
func setUsageError(c *cli.Command, f cli.OnUsageErrorFunc) {
	c.OnUsageError = f
	for _, sc := range c.Subcommands {
		setUsageError(sc, f)
	}
}

// didYouMeanCommand suggests the command closest to a mistyped one.
func didYouMeanCommand(name string, cmds []*cli.Command) string {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Names()...)
	}
	if best := config.Closest(name, names); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}
