package syncer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// TestServerConnectionLimit: a server that refuses connections beyond one
// per user: the extra logins (warm or not) fail, the folders go to the
// connection that works, and the run converges without an error.
func TestServerConnectionLimit(t *testing.T) {
	e := newEnvWith(t, "max_connections = 4", "", dovecot.WithConfig("mail_max_userip_connections = 1"))
	d := e.d
	var folders []string
	for fi := 0; fi < 8; fi++ {
		f := fmt.Sprintf("F%d", fi)
		folders = append(folders, f)
		d.CreateFolder(t, user, f)
		d.Append(t, user, f, dovecot.GenMessage(int64(900+fi), 0, 400), imap.FlagSeen)
	}
	e.mustRun(t)
	e.converged(t)
	for fi, f := range folders {
		d.Append(t, user, f, dovecot.GenMessage(int64(950+fi), 0, 400))
		// a flag to push: the folder needs a connection of its own
		// (new mail alone would be prefetched in the gather pipeline)
		flagLocally(t, e.seenFiles(t, f, 1)[0])
	}
	res := e.mustRun(t)
	if res.Fetched != len(folders) || res.FlagsServer != len(folders) {
		t.Errorf("fetched %d, flags to server %d, want %d each: %+v", res.Fetched, res.FlagsServer, len(folders), res)
	}
	if !strings.Contains(e.trace.String(), "Maximum number of connections") {
		t.Errorf("no login was refused; the test does not test the limit:\n%s", e.trace.String())
	}
	e.converged(t)
}
