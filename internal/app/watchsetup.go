package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/app/options"
	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/internal/watch"
)

// watchSettle is how long a trigger that finds nothing running waits for
// others to merge with: the EXISTS and the FETCH of one delivery, the two
// sides of a move.
const watchSettle = 100 * time.Millisecond

// watchSet is what one config load watches: its targets, their trigger
// sources, and the loop that runs their passes.
type watchSet struct {
	e        *env
	cfg      *config.Config
	names    []string
	channels []string
	pops     []string
	creds    *credCache
	idles    []*watch.IdleWatcher
	locals   map[string]*localWatch // by channel
	debug    io.Writer

	last targetResult // of the pass that just ran (pass, then report)
}

// newWatchSet prepares the sources of the targets names selects (all when
// none); it starts nothing.
func newWatchSet(ctx context.Context, e *env, cfg *config.Config, names []string) (*watchSet, error) {
	channels, pops, err := cfg.Targets(names)
	if err != nil {
		return nil, exitf(ExitUsage, "%v", err)
	}
	if len(channels)+len(pops) == 0 {
		return nil, exitf(ExitUsage, "nothing to watch: the config has no channel or pop account")
	}
	s := &watchSet{e: e, cfg: cfg, names: names, channels: channels, pops: pops, creds: newCredCache(cfg), locals: map[string]*localWatch{}}
	if e.verbose >= 2 {
		s.debug = options.Locked(e.stderr)
	}
	var described []string
	delims := map[string]rune{} // by account
	for _, name := range channels {
		ch := cfg.Channel[name]
		acct := cfg.IMAP[ch.IMAP]
		delim, asked := delims[ch.IMAP]
		if !asked {
			delim = s.delimiter(ctx, acct)
			delims[ch.IMAP] = delim
		}
		var watched []string
		for _, f := range ch.Watch {
			if !matchFolder(ch.Folders, f, delim) {
				e.errorf("warning: channel %s: watch names %q, which folders does not select (%s); not watched", name, f, cfg.Pos("channel."+name+".watch"))
				continue
			}
			s.idles = append(s.idles, &watch.IdleWatcher{
				Target: name, Folder: f, Dial: s.idleDialer(acct), Locate: locateFolder(acct, f),
				Renew: watch.DefaultRenew,
				Log:   s.logf("channel " + name),
			})
			watched = append(watched, f)
		}
		store, err := openStore(cfg, ch.Maildir)
		if err != nil {
			return nil, exitf(ExitFailed, "channel %s: %v", name, err)
		}
		lw := &localWatch{channel: name, store: store, patterns: ch.Folders, delim: delim, refresh: make(chan struct{}, 1), log: s.logf("channel " + name)}
		s.locals[name] = lw
		idle := "no IDLE"
		if len(watched) > 0 {
			idle = "IDLE on " + strings.Join(watched, ", ")
		}
		described = append(described, fmt.Sprintf("channel %s (%s, poll every %v)", name, idle, ch.PollDur))
	}
	for _, name := range pops {
		described = append(described, fmt.Sprintf("pop %s (poll every %v)", name, cfg.POP[name].PollDur))
	}
	e.verbosef("mdsync: watching %s", strings.Join(described, "; "))
	return s, nil
}

// targets are the names of everything the set runs passes for.
func (s *watchSet) targets() []string { return append(append([]string{}, s.channels...), s.pops...) }

// run starts the sources and the loop, and returns true when SIGHUP asks
// for a reload (after the pass in flight has ended), false once ctx is
// done (after the pass in flight has stopped).
func (s *watchSet) run(ctx context.Context, hup, usr1 <-chan os.Signal) bool {
	srcCtx, stopSources := context.WithCancel(ctx)
	defer stopSources()
	triggers := make(chan watch.Trigger, 64)
	var sources sync.WaitGroup
	start := func(f func()) {
		sources.Add(1)
		go func() {
			defer sources.Done()
			f()
		}()
	}
	all := func(src watch.Source) {
		for _, t := range s.targets() {
			if !sendTrigger(srcCtx, triggers, watch.Trigger{Target: t, Full: true, Source: src}) {
				return
			}
		}
	}
	start(func() { all(watch.SourceStart) })
	for _, w := range s.idles {
		start(func() {
			if err := w.Run(srcCtx, triggers); err != nil {
				s.logf("channel "+w.Target)("%v; %s is polled (poll = %q)", err, w.Folder, s.cfg.Channel[w.Target].Poll)
			}
		})
	}
	for _, name := range s.channels {
		p := &watch.Poller{Target: name, Every: s.cfg.Channel[name].PollDur}
		start(func() { p.Run(srcCtx, triggers) })
		lw := s.locals[name]
		start(func() { lw.run(srcCtx, triggers) })
	}
	for _, name := range s.pops {
		p := &watch.Poller{Target: name, Every: s.cfg.POP[name].PollDur}
		start(func() { p.Run(srcCtx, triggers) })
	}
	start(func() {
		(&watch.Suspend{}).Run(srcCtx, func(slept time.Duration) {
			s.logf("mdsync")("woke up after about %v asleep: connecting again and syncing everything", slept.Round(time.Second))
			for _, w := range s.idles {
				w.Reconnect()
			}
			all(watch.SourceResume)
		})
	})

	loop := &watch.Loop{Run: s.pass, OnPass: s.report, Settle: watchSettle, RetryMin: time.Second, RetryMax: 5 * time.Minute}
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		loop.Serve(ctx, triggers)
	}()
	for {
		select {
		case <-usr1:
			start(func() { all(watch.SourceSignal) })
		case <-hup:
			// the pass in flight ends as it would; then the new config
			stopSources()
			sources.Wait()
			close(triggers)
			<-loopDone
			return true
		case <-ctx.Done():
			stopSources()
			sources.Wait()
			<-loopDone
			return false
		}
	}
}

// sendTrigger hands a trigger to the loop unless ctx ends first.
func sendTrigger(ctx context.Context, out chan<- watch.Trigger, t watch.Trigger) bool {
	select {
	case out <- t:
		return true
	case <-ctx.Done():
		return false
	}
}

// logf returns a logger for what a source has to say (a lost connection,
// a server without IDLE): on stderr unless -q.
func (s *watchSet) logf(who string) func(format string, args ...any) {
	return func(format string, args ...any) {
		if !s.e.quiet {
			fmt.Fprintf(s.e.stderr, "%s: %s\n", who, fmt.Sprintf(format, args...))
		}
	}
}

// idleDialer opens IDLE connections to an account. Their read deadline
// must outlast a quiet IDLE (renewed every watch.DefaultRenew); the dial
// and login are still bounded by the account's timeout.
func (s *watchSet) idleDialer(acct *config.IMAP) watch.Dialer {
	return func(ctx context.Context, h *imapclient.UnilateralDataHandler) (*imapclient.Client, error) {
		pw, token, err := s.creds.get("imap."+acct.Name, &acct.Server)
		if err != nil {
			return nil, err
		}
		o := imapOptions(acct, pw, token)
		o.UnilateralDataHandler = h
		o.Timeout = watch.DefaultRenew + acct.TimeoutDur
		if s.debug != nil {
			o.Debug = s.debug
		}
		dctx, cancel := context.WithTimeout(ctx, acct.TimeoutDur)
		defer cancel()
		conn, err := imapconn.Dial(dctx, o)
		if err != nil {
			return nil, err
		}
		return conn.Client, nil
	}
}

// locateFolder finds the server's name of a channel folder on an IDLE
// connection: INBOX as it is, another folder below the configured prefix,
// else below the personal namespace's (as the sync does).
func locateFolder(acct *config.IMAP, folder string) func(ctx context.Context, c *imapclient.Client) (string, error) {
	return func(ctx context.Context, c *imapclient.Client) (string, error) {
		if strings.EqualFold(folder, "INBOX") {
			return "INBOX", nil
		}
		if acct.Prefix != nil {
			return *acct.Prefix + folder, nil
		}
		caps := c.Caps()
		if !caps.Has(imap.CapNamespace) && !caps.Has(imap.CapIMAP4rev2) {
			return folder, nil
		}
		nd, err := c.Namespace().Wait()
		var ie *imap.Error
		switch {
		case errors.As(err, &ie):
			return folder, nil // refused: no prefix
		case err != nil:
			return "", fmt.Errorf("namespace: %w", err)
		case nd == nil || len(nd.Personal) == 0:
			return folder, nil
		}
		return nd.Personal[0].Prefix + folder, nil
	}
}

// delimiter asks the account for its hierarchy delimiter, which local
// folder names depend on; 0 when the server cannot be asked now (local
// changes then ask for full passes until the next full pass finds out).
func (s *watchSet) delimiter(ctx context.Context, acct *config.IMAP) rune {
	ctx, cancel := context.WithTimeout(ctx, acct.TimeoutDur)
	defer cancel()
	d, err := serverDelim(ctx, s.cfg, acct)
	if err != nil {
		return 0
	}
	return d
}

// credCache resolves each account's credentials once (a password_command
// may ask a keyring, or a person), and again only after a failure.
type credCache struct {
	cfg *config.Config
	mu  sync.Mutex
	got map[string]cred
}

type cred struct {
	password string
	token    tokenFunc
}

func newCredCache(cfg *config.Config) *credCache {
	return &credCache{cfg: cfg, got: map[string]cred{}}
}

func (c *credCache) get(key string, srv *config.Server) (string, tokenFunc, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cr, ok := c.got[key]; ok {
		return cr.password, cr.token, nil
	}
	pw, token, err := credentials(c.cfg, key, srv)
	if err != nil {
		return "", nil, err
	}
	c.got[key] = cred{pw, token}
	return pw, token, nil
}
