package syncer_test

import (
	"testing"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/syncer"
)

func TestDryRunChangesNothing(t *testing.T) {
	e := newEnv(t, "")
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(40, 0, 300))
	res, err := e.run(t, func(o *syncer.Options) { o.DryRun = true })
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plans) != 1 || len(res.Plans[0].Actions) != 1 || res.Plans[0].Actions[0].Op != syncer.OpFetch {
		t.Fatalf("plan %+v", res.Plans)
	}
	if files := fileNames(t, e.root); len(files) != 0 {
		t.Fatalf("dry run wrote %v", files)
	}
	if w := writeCommands(e.trace.String()); len(w) > 0 {
		t.Fatalf("dry run sent %v", w)
	}
}
