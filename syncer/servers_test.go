package syncer_test

import (
	"testing"

	"github.com/mdsync/mdsync/internal/imapfake"
)

// TestNothingPipelinedBehindLoginUnannounced: a server whose greeting does
// not announce LIST-STATUS and that drops what arrives with the login
// (Courier hands the connection to a new imapd) still syncs: the LIST goes
// out only once the capabilities after the login are known.
func TestNothingPipelinedBehindLoginUnannounced(t *testing.T) {
	srv := imapfake.Start(t)
	srv.Caps = "LIST-STATUS UIDPLUS"
	srv.Greeting = "IDLE"
	srv.DropAfterLogin = true
	srv.AddMailbox("INBOX", body(1, 300), body(2, 300))
	e := newFakeEnv(t, srv, "2s")
	res := e.mustRun(t)
	if res.Fetched != 2 {
		t.Errorf("fetched %d, want 2", res.Fetched)
	}
}
