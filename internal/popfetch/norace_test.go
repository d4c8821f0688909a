//go:build !race

package popfetch

const raceEnabled = false
