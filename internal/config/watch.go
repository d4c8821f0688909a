package config

import (
	"strings"
	"time"
)

// DefaultPoll is how often mdsync watch looks at a channel or POP account
// that no event told of a change.
const DefaultPoll = 5 * time.Minute

// minPoll keeps a typo ("5s" for "5m") from hammering a server.
const minPoll = time.Second

// Polling is the poll interval of mdsync watch (poll = "5m").
type Polling struct {
	Poll    string        `toml:"poll"`
	PollDur time.Duration `toml:"-"`
}

// validatePolling fills in the poll interval.
func (c *Config) validatePolling(sec string, p *Polling) error {
	p.PollDur = DefaultPoll
	if p.Poll == "" {
		return nil
	}
	d, err := time.ParseDuration(p.Poll)
	if err != nil || d < minPoll {
		return c.errAt(sec+".poll", "poll must be a duration of at least 1s such as \"5m\", not %q", p.Poll)
	}
	p.PollDur = d
	return nil
}

// validateWatch checks the folders mdsync watch keeps an IDLE connection
// on (default INBOX; watch = [] for none, the poll alone).
func (c *Config) validateWatch(sec string, ch *Channel) error {
	if ch.Watch == nil {
		ch.Watch = []string{"INBOX"}
		return nil
	}
	seen := map[string]bool{}
	for _, f := range ch.Watch {
		key := f
		if strings.EqualFold(f, "INBOX") { // INBOX is INBOX in any case
			key = "INBOX"
		}
		switch {
		case strings.TrimSpace(f) == "":
			return c.errAt(sec+".watch", "watch: empty folder name")
		case strings.ContainsAny(f, "*%") || strings.HasPrefix(f, "!"):
			return c.errAt(sec+".watch", "watch names folders, not patterns: %q (each IDLE is a connection of its own)", f)
		case seen[key]:
			return c.errAt(sec+".watch", "watch: %q is listed twice", f)
		}
		seen[key] = true
	}
	return nil
}
