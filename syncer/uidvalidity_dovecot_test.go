package syncer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/syncer"
)

func TestUIDValidityChange(t *testing.T) {
	e := newEnv(t, "")
	e.d.CreateFolder(t, user, "Lists")
	var msgs [][]byte
	for i := 0; i < 6; i++ {
		msgs = append(msgs, dovecot.GenMessage(20, i, 600))
		e.d.Append(t, user, "Lists", msgs[i], imap.FlagSeen)
	}
	e.mustRun(t)
	before := e.converged(t)
	uv := e.d.UIDValidity(t, user, "Lists")
	e.d.DeleteFolder(t, user, "Lists")
	e.d.CreateFolder(t, user, "Lists")
	for _, m := range msgs {
		e.d.Append(t, user, "Lists", m, imap.FlagSeen)
	}
	if e.d.UIDValidity(t, user, "Lists") == uv {
		t.Fatal("UIDVALIDITY did not change")
	}
	res := e.mustRun(t)
	after := e.converged(t)
	if len(after["Lists"]) != 6 || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after UIDVALIDITY change: %s", summarize(after))
	}
	if res.Linked != 6 || res.Appended != 0 || res.Fetched != 0 {
		t.Errorf("result %+v, want 6 re-linked and nothing copied", res)
	}
	found := false
	for _, n := range res.Notes {
		found = found || strings.Contains(n.Text, "UIDVALIDITY changed") && n.Notice
	}
	if !found {
		t.Errorf("the run did not say what it did: %v", res.Notes)
	}

	// a second change in a row holds the folder back, until forced
	recreate := func() {
		e.d.DeleteFolder(t, user, "Lists")
		e.d.CreateFolder(t, user, "Lists")
		for _, m := range msgs {
			e.d.Append(t, user, "Lists", m, imap.FlagSeen)
		}
	}
	uv = e.d.UIDValidity(t, user, "Lists")
	recreate()
	if e.d.UIDValidity(t, user, "Lists") == uv {
		t.Fatal("UIDVALIDITY did not change")
	}
	if _, err := e.run(t, nil); err == nil || !strings.Contains(err.Error(), `changed the UIDVALIDITY of "Lists" again`) {
		t.Errorf("a second change in a row: %v", err)
	}
	if d := dovecot.Diff(before, e.server(t)); d != "" {
		t.Errorf("the held-back folder changed on the server:\n%s", d)
	}
	res, err := e.run(t, func(o *syncer.Options) { o.ForceDelete = map[string]bool{"Lists": true} })
	if err != nil || res.Linked != 6 || res.Appended != 0 {
		t.Errorf("forced: %v %+v", err, res)
	}
	// a sync of the folder without a change: it counts as steady again
	extra := dovecot.GenMessage(21, 0, 600)
	e.d.Append(t, user, "Lists", extra, imap.FlagSeen)
	msgs = append(msgs, extra)
	if res := e.mustRun(t); res.Fetched != 1 {
		t.Fatalf("steady run: %+v", res)
	}
	recreate()
	if res := e.mustRun(t); res.Linked != 7 {
		t.Errorf("a change after a steady sync: %+v", res)
	}
}
