// Package app is the mdsync command line: it reads the config, takes the
// lock, opens the state, runs channels and POP accounts, and turns what
// happened into output and an exit code.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mdsync/mdsync/internal/app/options"
	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/internal/lock"
	"github.com/mdsync/mdsync/internal/popfetch"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
	"github.com/mdsync/mdsync/syncer"
)

// Exit codes.
const (
	ExitOK        = 0
	ExitFailed    = 1  // a channel or account failed; the others still ran
	ExitUsage     = 2  // usage or config error
	ExitTemporary = 75 // EX_TEMPFAIL: unreachable server, lock held
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

// exitError carries an exit code through urfave/cli up to Main, so that
// deferred cleanup (lock, database) runs before the process exits.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// env is what one invocation works with.
type env struct {
	stdout, stderr io.Writer
	json           bool
	jsonDone       bool // the command wrote its JSON object
	quiet          bool
	verbose        int
	dryRun         bool
	trace          func(format string, args ...any) // MDSYNC_TIMING (nil: off)
}

func (e *env) tracef(format string, args ...any) {
	if e.trace != nil {
		e.trace(format, args...)
	}
}

func (e *env) infof(format string, args ...any) {
	if !e.quiet && !e.json {
		fmt.Fprintf(e.stdout, format+"\n", args...)
	}
}

func (e *env) verbosef(format string, args ...any) {
	if e.verbose > 0 && !e.quiet {
		fmt.Fprintf(e.stderr, format+"\n", args...)
	}
}

func (e *env) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "mdsync: "+format+"\n", args...)
}

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

// Main runs the CLI and returns the process exit code. With
// MDSYNC_CPUPROFILE=FILE set it writes a CPU profile of the run there, and
// with MDSYNC_TIMING=1 it prints a timeline of the sync's phases on stderr
// (for the benchmarks' notes).
func Main(args []string, stdout, stderr io.Writer) int {
	start := time.Now()
	if p := os.Getenv("MDSYNC_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
		}
	}
	ctx, stop := watchSignals(context.Background(), stderr)
	defer stop()
	e := &env{stdout: stdout, stderr: stderr}
	if os.Getenv("MDSYNC_TIMING") != "" {
		var mu sync.Mutex
		e.trace = func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(stderr, "%8.2fms %s\n", float64(time.Since(start).Microseconds())/1000, fmt.Sprintf(format, args...))
		}
	}
	common := func() []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "config `FILE` (default $MDSYNC_CONFIG or $XDG_CONFIG_HOME/mdsync/config.toml)", EnvVars: []string{"MDSYNC_CONFIG"}},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "print the plan, change nothing", DisableDefaultText: true},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON summary object on stdout", DisableDefaultText: true},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print errors only", DisableDefaultText: true},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "more output; -vv shows the protocol (credentials redacted)", Count: new(int), DisableDefaultText: true},
		}
	}
	before := func(c *cli.Context) error {
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
	// usage errors are said once, on stderr, with exit 2 (urfave would
	// print the whole help on stdout and the error twice)
	var notFound string
	usageErr := func(c *cli.Context, err error, _ bool) error {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%v (see mdsync --help)", err)}
	}
	app := &cli.App{
		OnUsageError:           usageErr,
		CommandNotFound:        func(c *cli.Context, name string) { notFound = name },
		CustomAppHelpTemplate:  cli.AppHelpTemplate + "\n" + helpFooter + "\n",
		Name:                   "mdsync",
		Usage:                  "two-way IMAP <-> Maildir sync and POP3 fetching, safe to run from cron",
		Version:                version(),
		Writer:                 stdout,
		ErrWriter:              stderr,
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
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(stdout, versionLine())
					return nil
				},
			},
		},
	}
	for _, c := range app.Commands {
		setUsageError(c, usageErr)
	}
	err := app.RunContext(ctx, args)
	if err == nil && notFound != "" {
		err = &exitError{code: ExitUsage, err: fmt.Errorf("no command %q%s (see mdsync --help)", notFound, didYouMeanCommand(notFound, app.Commands))}
	}
	if err == nil {
		return ExitOK
	}
	code, msg := ExitUsage, err.Error() // urfave's own usage errors
	var xe *exitError
	if errors.As(err, &xe) {
		code, msg = xe.code, ""
		if xe.err != nil {
			msg = xe.err.Error()
		}
	}
	if msg != "" {
		e.errorf("%s", msg)
	}
	if (e.json || wantsJSON(args)) && !e.jsonDone {
		// every exit of a --json run is one JSON object
		if msg == "" {
			msg = "failed"
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		enc.Encode(map[string]any{"version": version(), "ok": false, "exit_code": code, "error": msg})
	}
	return code
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

// setUsageError gives a command and its subcommands the usage-error rule.
func setUsageError(c *cli.Command, f cli.OnUsageErrorFunc) {
	c.OnUsageError = f
	for _, sc := range c.Subcommands {
		setUsageError(sc, f)
	}
}

// wantsJSON reports whether --json is among the arguments (for errors that
// come before the flags are parsed).
func wantsJSON(args []string) bool {
	for _, a := range args {
		if a == "--json" || a == "-json" {
			return true
		}
		if a == "--" {
			break
		}
	}
	return false
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

// targetResult is the outcome of one channel or POP account.
type targetResult struct {
	Name   string         `json:"name"`
	Kind   string         `json:"kind"`
	OK     bool           `json:"ok"`
	Error  string         `json:"error,omitempty"`
	Counts map[string]int `json:"counts"`
	Notes  []string       `json:"notes,omitempty"`
	// notices are the notes said without -v
	notices []string
	Plan    []planFolder `json:"plan,omitempty"`
	// Arrived: the messages downloaded (with --json, and for hooks)
	Arrived []arrival `json:"arrived,omitempty"`
	landed  []arrival // folder and path only
	temp    bool
	start   time.Time
	end     time.Time
}

type planFolder struct {
	Folder  string   `json:"folder"`
	Blocked string   `json:"blocked,omitempty"`
	Actions []string `json:"actions"`
}

// summary is the --json output of sync.
type summary struct {
	Version  string `json:"version"`
	DryRun   bool   `json:"dry_run"`
	OK       bool   `json:"ok"`
	ExitCode int    `json:"exit_code"`
	// Interrupted: a SIGINT or SIGTERM ended the run early
	Interrupted bool           `json:"interrupted,omitempty"`
	Targets     []targetResult `json:"targets"`
}

func classify(err error) (temp bool) {
	return errors.Is(err, imapconn.ErrTemporary) || errors.Is(err, context.DeadlineExceeded)
}

func runSync(ctx context.Context, e *env, c *cli.Context) error {
	e.tracef("start")
	cfg, err := loadConfig(e, c)
	if err != nil {
		return err
	}
	if err := flagsFirst(c); err != nil {
		return err
	}
	channels, pops, err := cfg.Targets(c.Args().Slice())
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	var db *state.DB
	if e.dryRun {
		// a dry run writes nothing: no lock, and a copy of the state
		db, err = dryRunState(ctx, cfg.StateDir)
	} else {
		lk, lerr := lock.Acquire(cfg.StateDir)
		if lerr != nil {
			if errors.Is(lerr, lock.ErrHeld) {
				return exitf(ExitTemporary, "%v", lerr)
			}
			return exitf(ExitFailed, "%v", lerr)
		}
		defer lk.Release()
		e.tracef("locked")
		db, err = openState(ctx, e, cfg.StateDir)
	}
	if err != nil {
		return exitf(ExitFailed, "%v", err)
	}
	defer func() {
		db.Close()
		e.tracef("state closed")
	}()
	e.tracef("state open")
	force := map[string]bool{}
	for _, f := range c.StringSlice("force-delete") {
		force[f] = true
	}
	redownload := map[string]bool{}
	for _, n := range c.StringSlice("redownload") {
		if cfg.Channel[n] == nil && cfg.POP[n] == nil {
			return exitf(ExitUsage, "--redownload %s: no channel or pop account of that name", n)
		}
		redownload[n] = true
	}
	var debugW io.Writer
	if e.verbose >= 2 {
		debugW = &lockedWriter{w: e.stderr}
	}

	prog := newProgress(e)
	all := func() []targetResult {
		return runTargets(ctx, e, cfg, db, channels, pops, force, redownload, debugW, prog)
	}
	results := all()
	prog.finish()
	if damaged := damagedIn(results); damaged != "" && !e.dryRun && ctx.Err() == nil {
		// The run could not read or write the state; rebuilt by content
		// matching, as after a lost state, it goes through.
		db.Close()
		if db, err = rebuildState(ctx, e, cfg.StateDir, damaged); err != nil {
			return exitf(ExitFailed, "%v", err)
		}
		results = all()
	}
	if ir, ok := interrupted(ctx); ok {
		return reportInterrupt(e, db, ir, results)
	}

	code := ExitOK
	failed, temp := 0, 0
	for _, r := range results {
		if !r.OK {
			if r.temp {
				temp++
			} else {
				failed++
			}
		}
		if !e.dryRun {
			counts, _ := json.Marshal(r.Counts)
			_ = db.RecordTarget(context.WithoutCancel(ctx), state.Target{Name: r.Name, Kind: r.Kind, LastStart: r.start, LastEnd: r.end, OK: r.OK, Error: r.Error, Counts: string(counts)})
		}
	}
	e.tracef("runs recorded")
	switch {
	case failed > 0:
		code = ExitFailed
	case temp > 0:
		code = ExitTemporary
	}
	if e.json {
		s := summary{Version: version(), DryRun: e.dryRun, OK: code == ExitOK, ExitCode: code, Targets: results}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		e.jsonDone = true
	} else {
		printResults(e, results)
	}
	if code != ExitOK {
		return &exitError{code: code, err: errors.New("")}
	}
	return nil
}

// runTargets runs the channels and POP accounts, several at once.
func runTargets(ctx context.Context, e *env, cfg *config.Config, db *state.DB, channels, pops []string, force, redownload map[string]bool, debugW io.Writer, prog *progressLine) []targetResult {
	results := make([]targetResult, len(channels)+len(pops))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4) // channels and POP accounts run concurrently
	for i, name := range channels {
		wg.Add(1)
		go func(i int, name string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = withHooks(ctx, e, cfg, "channel", name, func() targetResult {
				return runChannel(ctx, e, cfg, db, name, force, redownload[name], debugW, prog.channel(name))
			})
		}(i, name)
	}
	for j, name := range pops {
		wg.Add(1)
		go func(i int, name string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = withHooks(ctx, e, cfg, "pop", name, func() targetResult {
				return runPOP(ctx, e, cfg, db, name, redownload[name], debugW)
			})
		}(len(channels)+j, name)
	}
	wg.Wait()
	return results
}

// reportInterrupt ends an interrupted run: the targets are recorded as
// interrupted, and one line says what was kept.
func reportInterrupt(e *env, db *state.DB, ir interrupt, results []targetResult) error {
	kept := 0
	for i := range results {
		r := &results[i]
		kept += r.Counts["fetched"] + r.Counts["appended"]
		r.OK, r.Error, r.temp = false, ir.Error(), true
		if r.end.IsZero() {
			r.end = time.Now()
		}
		if !e.dryRun {
			counts, _ := json.Marshal(r.Counts)
			_ = db.RecordTarget(context.Background(), state.Target{Name: r.Name, Kind: r.Kind, LastStart: r.start, LastEnd: r.end, OK: false, Error: r.Error, Counts: string(counts)})
		}
	}
	if e.json {
		s := summary{Version: version(), DryRun: e.dryRun, ExitCode: ir.code(), Interrupted: true, Targets: results}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		e.jsonDone = true
	}
	return exitf(ir.code(), "interrupted: %d messages kept, run again to continue", kept)
}

func printResults(e *env, results []targetResult) {
	for _, r := range results {
		if !r.OK {
			if prefix := r.Kind + " " + r.Name + ": "; strings.HasPrefix(r.Error, prefix) {
				e.errorf("%s", r.Error)
			} else {
				e.errorf("%s%s", prefix, r.Error)
			}
		}
		if e.dryRun && !e.quiet {
			fmt.Fprintf(e.stdout, "%s %s: plan\n", r.Kind, r.Name)
			for _, pf := range r.Plan {
				if pf.Blocked != "" {
					fmt.Fprintf(e.stdout, "  %s: BLOCKED: %s\n", pf.Folder, pf.Blocked)
				}
				if len(pf.Actions) == 0 {
					continue
				}
				fmt.Fprintf(e.stdout, "  %s:\n", pf.Folder)
				for _, a := range pf.Actions {
					fmt.Fprintf(e.stdout, "    %s\n", a)
				}
			}
			continue
		}
		var parts []string
		keys := make([]string, 0, len(r.Counts))
		for k, v := range r.Counts {
			if v != 0 && k != "folders" && k != "unchanged" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", strings.ReplaceAll(k, "_", " "), r.Counts[k]))
		}
		if len(parts) > 0 {
			e.infof("%s %s: %s", r.Kind, r.Name, strings.Join(parts, ", "))
		} else if e.verbose > 0 && r.OK {
			e.infof("%s %s: no changes", r.Kind, r.Name)
		}
		shown := r.notices
		if e.verbose > 0 {
			shown = r.Notes
		}
		for _, n := range shown {
			e.infof("  %s", n)
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func runChannel(ctx context.Context, e *env, cfg *config.Config, db *state.DB, name string, force map[string]bool, redownload bool, debugW io.Writer, prog *syncer.Progress) targetResult {
	r := targetResult{Name: name, Kind: "channel", start: time.Now(), Counts: map[string]int{}}
	fail := func(err error) targetResult {
		r.Error, r.temp, r.end = err.Error(), classify(err), time.Now()
		return r
	}
	ch := cfg.Channel[name]
	acct := cfg.IMAP[ch.IMAP]
	_, known, err := db.Counts(ctx, name)
	if err != nil {
		return fail(err)
	}
	if redownload {
		if !e.dryRun {
			if err := forgetChannel(ctx, db, name); err != nil {
				return fail(fmt.Errorf("forget the state of the channel: %w", err))
			}
		}
		known = 0
	}
	if err := checkRoot(cfg, cfg.Maildir[ch.Maildir], name, known); err != nil {
		return fail(err)
	}
	pw, token, err := credentials(cfg, "imap."+ch.IMAP, &acct.Server)
	if err != nil {
		return fail(err)
	}
	store, err := openStoreFor(cfg, ch.Maildir, e.dryRun)
	if err != nil {
		return fail(err)
	}
	e.verbosef("channel %s: syncing %s@%s with %s", name, acct.User, acct.Addr(), store.Root())
	o := options.Channel(cfg, name, pw, token, debugW)
	o.Store, o.DB, o.DryRun, o.ForceDelete, o.Trace, o.Progress = store, db, e.dryRun, force, e.trace, prog
	o.Log = func(format string, args ...any) { e.verbosef(format, args...) }
	res, err := syncer.Run(ctx, o)
	if res != nil {
		b, _ := json.Marshal(res)
		r.Counts = intCounts(b)
		for _, n := range res.Notes {
			r.Notes = append(r.Notes, n.Text)
			if n.Notice {
				r.notices = append(r.notices, n.Text)
			}
		}
		for _, a := range res.Arrived {
			r.landed = append(r.landed, arrival{Folder: a.Folder, Path: a.Path})
		}
		if e.dryRun {
			for _, op := range res.FolderOps {
				r.Plan = append(r.Plan, planFolder{Folder: op.Folder, Actions: []string{op.String()}})
			}
			for _, fp := range res.Plans {
				pf := planFolder{Folder: fp.Name, Blocked: fp.Blocked, Actions: []string{}}
				for _, a := range fp.Actions {
					pf.Actions = append(pf.Actions, a.String())
				}
				if len(pf.Actions) > 0 || pf.Blocked != "" {
					r.Plan = append(r.Plan, pf)
				}
			}
		}
	}
	if err != nil {
		return fail(err)
	}
	r.OK, r.end = true, time.Now()
	return r
}

func intCounts(b []byte) map[string]int {
	var m map[string]any
	json.Unmarshal(b, &m)
	out := map[string]int{}
	for k, v := range m {
		if f, ok := v.(float64); ok {
			out[k] = int(f)
		}
	}
	return out
}

func runPOP(ctx context.Context, e *env, cfg *config.Config, db *state.DB, name string, redownload bool, debugW io.Writer) targetResult {
	r := targetResult{Name: name, Kind: "pop", start: time.Now(), Counts: map[string]int{}}
	p := cfg.POP[name]
	fail := func(err error) targetResult {
		r.Error, r.temp, r.end = err.Error(), classify(err), time.Now()
		return r
	}
	known, err := db.POPCount(ctx, name)
	if err != nil {
		return fail(err)
	}
	if redownload {
		if !e.dryRun {
			if err := forgetPOP(ctx, db, name); err != nil {
				return fail(fmt.Errorf("forget the state of the account: %w", err))
			}
		}
		known = 0
	}
	if err := checkRoot(cfg, cfg.Maildir[p.Maildir], name, known); err != nil {
		return fail(err)
	}
	pw, token, err := credentials(cfg, "pop."+name, &p.Server)
	if err != nil {
		return fail(err)
	}
	store, err := openStoreFor(cfg, p.Maildir, e.dryRun)
	if err != nil {
		return fail(err)
	}
	o, err := popOptions(name, p, pw, token)
	if err != nil {
		return fail(err)
	}
	o.Store, o.DB, o.DryRun, o.Debug = store, db, e.dryRun, debugW
	o.Log = func(format string, args ...any) { e.verbosef(format, args...) }
	res, err := popfetch.New(o).Run(ctx)
	r.Counts = map[string]int{"fetched": res.Fetched, "deleted": res.Deleted, "skipped_too_big": res.Skipped, "pruned": res.Pruned, "remaining": res.Remaining}
	for _, path := range res.Arrived {
		r.landed = append(r.landed, arrival{Folder: p.Folder, Path: path})
	}
	r.Notes = append(r.Notes, res.Warnings...)
	if e.dryRun {
		r.Plan = []planFolder{{Folder: p.Folder, Actions: append([]string{}, res.Plan...)}}
	}
	r.end = time.Now()
	if err != nil {
		return fail(err)
	}
	r.OK = true
	return r
}
