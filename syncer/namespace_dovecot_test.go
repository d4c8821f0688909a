package syncer_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/maildir"
)

// TestNamespacePrefix: on a server whose personal namespace has a prefix
// (Dovecot laid out like Courier: "INBOX." and '.'), a new local folder is
// created under the prefix, the server's folders are the local ones
// without it, and the next run changes nothing.
func TestNamespacePrefix(t *testing.T) {
	e := newEnvWith(t, "", "", dovecot.WithNamespace("INBOX.", "."))
	e.d.CreateFolder(t, user, "INBOX.Sent")
	e.d.Append(t, user, "INBOX.Sent", dovecot.GenMessage(200, 0, 400))
	e.d.Append(t, user, "INBOX", dovecot.GenMessage(200, 1, 400))
	store, err := maildir.OpenWith(e.root, maildir.Options{Layout: maildir.Verbatim})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := store.CreateFolder("Projekte", '.')
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pf.Deliver(bytes.NewReader(dovecot.GenMessage(200, 2, 400)), maildir.DeliverOpts{Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	res := e.mustRun(t)
	if res.Fetched != 2 || res.Appended != 1 {
		t.Errorf("first run: %+v", res)
	}
	folders := e.d.Folders(t, user)
	sort.Strings(folders)
	if fmt.Sprint(folders) != "[INBOX INBOX.Projekte INBOX.Sent]" {
		t.Errorf("server folders %v", folders)
	}
	for _, dir := range []string{"INBOX", "Sent", "Projekte"} {
		if _, err := os.Stat(filepath.Join(e.root, dir, "cur")); err != nil {
			t.Errorf("local %s: %v", dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(e.root, "INBOX", "Sent")); err == nil {
		t.Error("the prefix leaked into the local tree")
	}
	res = e.mustRun(t)
	if w := writeCommands(e.trace.String()); len(w) > 0 || res.Fetched+res.Appended != 0 {
		t.Errorf("second run: %+v %v", res, w)
	}
}

// TestUnmappedLocalFolderIsReported: a local folder whose name holds the
// server's separator ("Notes.old" where levels are separated by '.') is
// not skipped silently: the run fails and says what to do.
func TestUnmappedLocalFolderIsReported(t *testing.T) {
	e := newEnvWith(t, "", "", dovecot.WithNamespace("", "."))
	store, err := maildir.OpenWith(e.root, maildir.Options{Layout: maildir.Verbatim})
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.CreateFolder("Notes.old", '/')
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Deliver(bytes.NewReader(dovecot.GenMessage(201, 0, 300)), maildir.DeliverOpts{}); err != nil {
		t.Fatal(err)
	}
	res, err := e.run(t, nil)
	if err == nil || !strings.Contains(err.Error(), `local folder Notes.old is not synced: the server separates folder levels with '.'`) {
		t.Errorf("err %v (result %+v)", err, res)
	}
}
