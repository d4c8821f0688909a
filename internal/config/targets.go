package config

import (
	"fmt"
)

// Targets returns the channel and POP names to run for the given args
// (all when none), or an error naming an unknown one.
func (c *Config) Targets(names []string) (channels []string, pops []string, err error) {
	if len(names) == 0 {
		return sortedKeys(c.Channel), sortedKeys(c.POP), nil
	}
	for _, n := range names {
		switch {
		case c.Channel[n] != nil:
			channels = append(channels, n)
		case c.POP[n] != nil:
			pops = append(pops, n)
		default:
			all := append(sortedKeys(c.Channel), sortedKeys(c.POP)...)
			return nil, nil, fmt.Errorf("no channel or pop account named %q%s", n, didYouMean(n, all))
		}
	}
	return channels, pops, nil
}
