package app

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// commonFlags are the flags every command takes, before or after its name.
func commonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "config `FILE` (default $MDSYNC_CONFIG or $XDG_CONFIG_HOME/mdsync/config.toml)", EnvVars: []string{"MDSYNC_CONFIG"}},
		&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the plan, change nothing", DisableDefaultText: true},
		&cli.BoolFlag{Name: "json", Usage: "print one JSON summary object on stdout", DisableDefaultText: true},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print errors only", DisableDefaultText: true},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "more output; -vv shows the protocol (credentials redacted)", Count: new(int), DisableDefaultText: true},
	}
}

// readFlags is the Before of mdsync and of each command: the common flags
// given at any level set e (a switch once on stays on).
func (e *env) readFlags(c *cli.Context) error {
	e.json = e.json || c.Bool("json")
	e.quiet = e.quiet || c.Bool("quiet")
	e.dryRun = e.dryRun || c.Bool("dry-run")
	for _, cc := range c.Lineage() {
		if n := cc.Count("verbose"); n > e.verbose {
			e.verbose = n
		}
	}
	return nil
}

// flagsFirst refuses a flag given after a name: urfave/cli stops reading
// flags at the first name, so "mdsync sync me -n" would take "-n" for a
// channel.
func flagsFirst(c *cli.Context) error {
	for _, a := range c.Args().Slice() {
		if strings.HasPrefix(a, "-") && a != "-" {
			return exitf(ExitUsage, "%q comes after a name: flags go before the names (mdsync %s %s NAME...)", a, c.Command.Name, a)
		}
	}
	return nil
}

// lineageString returns a flag's value from the innermost context that set
// it: global flags may be given before or after the command name.
func lineageString(c *cli.Context, name string) string {
	for _, cc := range c.Lineage() {
		if cc.IsSet(name) {
			return cc.String(name)
		}
	}
	return c.String(name)
}
