package syncer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/syncer"
)

func TestMassDeleteGuard(t *testing.T) {
	e := newEnv(t, "")
	uids := e.appendMessages(t, "INBOX", 30, 30, 300)
	e.mustRun(t)
	e.d.Expunge(t, user, "INBOX", uids...)
	res, err := e.run(t, nil)
	if !errors.Is(err, syncer.ErrFolders) || !strings.Contains(err.Error(), "--force-delete \"INBOX\"") {
		t.Fatalf("err = %v", err)
	}
	if n := len(e.local(t)["INBOX"]); n != 30 {
		t.Fatalf("guard let %d of 30 local messages go", 30-n)
	}
	if res.DeletedLocal != 0 {
		t.Fatalf("deleted %d", res.DeletedLocal)
	}
	res, err = e.run(t, func(o *syncer.Options) { o.ForceDelete = map[string]bool{"INBOX": true} })
	if err != nil {
		t.Fatal(err)
	}
	if res.DeletedLocal != 30 || len(e.local(t)["INBOX"]) != 0 {
		t.Fatalf("force-delete: %+v", res)
	}
}
