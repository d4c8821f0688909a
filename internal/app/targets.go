package app

import (
	"context"
	"io"
	"sync"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/state"
)

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
