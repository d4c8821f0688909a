//go:build race

package popfetch

// raceEnabled: the race detector inflates RSS (shadow memory).
const raceEnabled = true
