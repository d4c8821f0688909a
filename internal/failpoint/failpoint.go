// Package failpoint ends the process abruptly at a named step, for crash
// tests: MDSYNC_FAILPOINT=<step>[:<n>] exits with status 137 (as a SIGKILL
// would, with no deferred function run and nothing flushed) the n-th time
// (default 1st) the step is reached. Inert when the variable is unset.
package failpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// ExitCode is the status a failpoint exits with.
const ExitCode = 137

var (
	once   sync.Once
	name   string
	target int
	mu     sync.Mutex
	count  int
)

func load() {
	v := os.Getenv("MDSYNC_FAILPOINT")
	if v == "" {
		return
	}
	name, target = v, 1
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		if n, err := strconv.Atoi(v[i+1:]); err == nil && n > 0 {
			name, target = v[:i], n
		}
	}
}

// Hit marks that step was reached; it exits the process when the failpoint
// names it and its count is reached.
func Hit(step string) {
	once.Do(load)
	if name == "" || step != name {
		return
	}
	mu.Lock()
	count++
	c := count
	mu.Unlock()
	if c == target {
		os.Stderr.WriteString("mdsync: failpoint " + step + " reached, exiting\n")
		os.Exit(ExitCode)
	}
}
