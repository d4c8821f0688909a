package app

import (
	"context"
	"io"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/par"
	"github.com/mdsync/mdsync/state"
)

// targetsAtOnce is how many channels and POP accounts a sync runs at the
// same time: each has connections of its own, and a server limits how
// many one user opens.
const targetsAtOnce = 4

// targets is what the channels and POP accounts of one sync share.
type targets struct {
	cfg        *config.Config
	db         *state.DB
	force      map[string]bool // --force-delete: folders
	redownload map[string]bool // --redownload: channels and accounts
	debug      io.Writer       // -vv: the protocol traces, serialised (nil: none)
	prog       *progressLine   // nil: none
}

// run runs the channels and POP accounts, each between its hooks, and
// returns their results in that order.
func (t *targets) run(ctx context.Context, e *env, channels, pops []string) []targetResult {
	results := make([]targetResult, len(channels)+len(pops))
	g := par.NewGroup(targetsAtOnce)
	for i, name := range channels {
		g.Go(func() {
			results[i] = withHooks(ctx, e, t.cfg, "channel", name, func() targetResult {
				return runChannel(ctx, e, t.cfg, t.db, channelJob{name: name, force: t.force, redownload: t.redownload[name],
					debug: t.debug, progress: t.prog.channel(name), log: e.verbosef})
			})
		})
	}
	for j, name := range pops {
		g.Go(func() {
			results[len(channels)+j] = withHooks(ctx, e, t.cfg, "pop", name, func() targetResult {
				return runPOP(ctx, e, t.cfg, t.db, name, t.redownload[name], t.debug)
			})
		})
	}
	g.Wait()
	return results
}
