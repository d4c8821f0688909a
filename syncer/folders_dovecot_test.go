package syncer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

func TestFolderDeletionPolicies(t *testing.T) {
	for _, remove := range []string{"none", "both"} {
		t.Run("remove="+remove, func(t *testing.T) {
			e := newEnv(t, fmt.Sprintf("remove = %q", remove))
			e.d.CreateFolder(t, user, "GoneOnServer")
			e.d.CreateFolder(t, user, "GoneLocally")
			e.d.Append(t, user, "GoneOnServer", dovecot.GenMessage(70, 0, 300))
			e.d.Append(t, user, "GoneLocally", dovecot.GenMessage(71, 0, 300))
			e.mustRun(t)
			e.converged(t)
			e.d.DeleteFolder(t, user, "GoneOnServer")
			if err := os.RemoveAll(filepath.Join(e.root, "GoneLocally")); err != nil {
				t.Fatal(err)
			}
			res := e.mustRun(t)
			notes := fmt.Sprintln(res.Notes)
			_, localErr := os.Stat(filepath.Join(e.root, "GoneOnServer", "cur"))
			serverHas := false
			for _, f := range e.d.Folders(t, user) {
				serverHas = serverHas || f == "GoneLocally"
			}
			if remove == "none" {
				if localErr != nil || !serverHas {
					t.Errorf("remove=none deleted a folder (local err %v, server has %v)", localErr, serverHas)
				}
				if !strings.Contains(notes, `"GoneOnServer" was deleted on the server; kept locally`) || !strings.Contains(notes, `"GoneLocally" was removed locally; remove = "none" keeps it on the server: downloaded again`) {
					t.Errorf("the run did not say what it did: %s", notes)
				}
				// the removed folder came back whole, nothing was uploaded
				if res.Fetched != 1 || res.Appended != 0 || res.Expunged != 0 {
					t.Errorf("the removed folder was not downloaded again: %+v", res)
				}
				if got := e.local(t)["GoneLocally"]; len(got) != 1 {
					t.Errorf("GoneLocally holds %d messages locally, want 1", len(got))
				}
				if got := e.server(t)["GoneLocally"]; len(got) != 1 {
					t.Errorf("GoneLocally holds %d messages on the server, want 1", len(got))
				}
				// and the next run changes nothing
				if res := e.mustRun(t); res.Fetched+res.Appended+res.Expunged+res.DeletedLocal != 0 {
					t.Errorf("the run after: %+v", res)
				}
			} else {
				if localErr == nil || serverHas {
					t.Errorf("remove=both kept a folder (local err %v, server has %v): %s", localErr, serverHas, notes)
				}
				e.mustRun(t)
				e.converged(t)
			}
		})
	}
}

// TestServerRenameFollowed: a folder of 50 messages renamed on the server
// (a webmail, a phone) is renamed locally: no body fetched, nothing left
// under the old name, nothing twice; sub-folders follow their parent.
func TestServerRenameFollowed(t *testing.T) {
	e := newEnv(t, "")
	e.d.CreateFolder(t, user, "Projects")
	e.d.CreateFolder(t, user, "Projects/Old")
	e.appendMessages(t, "Projects", 800, 50, 400, imap.FlagSeen)
	e.appendMessages(t, "Projects/Old", 801, 3, 400)
	e.mustRun(t)
	e.converged(t)
	e.d.RenameFolder(t, user, "Projects", "Archive/Projects 2025")
	res := e.mustRun(t)
	if res.Fetched != 0 || res.Appended != 0 || res.DeletedLocal != 0 || res.Expunged != 0 {
		t.Errorf("after the rename: %+v", res)
	}
	if bodies := bodyFetches(e.trace.String()); len(bodies) > 0 {
		t.Errorf("bodies fetched after the rename: %q", bodies)
	}
	if !strings.Contains(fmt.Sprint(res.Notes), `"Projects" was renamed to "Archive/Projects 2025" on the server: renamed locally`) {
		t.Errorf("notes %q", res.Notes)
	}
	for _, gone := range []string{"Projects"} {
		if _, err := os.Stat(filepath.Join(e.root, gone)); err == nil {
			t.Errorf("%s left locally", gone)
		}
	}
	snap := e.converged(t)
	if len(snap["Archive/Projects 2025"]) != 50 || len(snap["Archive/Projects 2025/Old"]) != 3 {
		t.Errorf("after the rename: %s", summarize(snap))
	}
	if res := e.mustRun(t); res.Fetched+res.Appended+res.DeletedLocal+res.Expunged != 0 {
		t.Errorf("the run after: %+v", res)
	}
}
