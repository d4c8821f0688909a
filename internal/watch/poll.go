package watch

import (
	"context"
	"time"
)

// DefaultPoll is the poll interval of a target whose config sets none.
const DefaultPoll = 5 * time.Minute

// Poller asks for a full pass of a target at a fixed interval: it is what
// finds the changes no IDLE connection reports (the other folders of a
// channel, a POP account, a server without IDLE).
type Poller struct {
	Target string
	Every  time.Duration // default DefaultPoll
}

// Run sends a trigger every interval until ctx is done.
func (p *Poller) Run(ctx context.Context, out chan<- Trigger) error {
	every := p.Every
	if every <= 0 {
		every = DefaultPoll
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if !send(ctx, out, Trigger{Target: p.Target, Full: true, Source: SourcePoll}) {
				return nil
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// send hands a trigger over unless ctx ends first.
func send(ctx context.Context, out chan<- Trigger, t Trigger) bool {
	select {
	case out <- t:
		return true
	case <-ctx.Done():
		return false
	}
}
