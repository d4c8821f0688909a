package offlineimap

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"fmt"
	"github.com/mdsync/mdsync/internal/mutf7"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdsync/mdsync/internal/migrate"
)

// fixture builds an OfflineIMAP state by hand, in the formats the
// integration test verifies against the real program.
type fixture struct {
	t                 *testing.T
	home, meta, root  string
	rc                string
	acct, local, repo string // extra config lines
	sep               string
}

func newFixture(t *testing.T, sep string) *fixture {
	home := t.TempDir()
	return &fixture{t: t, home: home, meta: filepath.Join(home, "meta"), root: filepath.Join(home, "Mail"), sep: sep}
}

func (f *fixture) read() *migrate.Result {
	f.t.Helper()
	rc := fmt.Sprintf("[general]\naccounts = a\nmetadata = %s\n[Account a]\nlocalrepository = l\nremoterepository = r\n%s\n"+
		"[Repository l]\ntype = Maildir\nlocalfolders = %s\nsep = %s\n%s\n"+
		"[Repository r]\ntype = IMAP\nremotehost = h\nremoteuser = u\nremotepass = p\n%s\n", f.meta, f.acct, f.root, f.sep, f.local, f.repo)
	path := filepath.Join(f.home, "rc")
	if err := os.WriteFile(path, []byte(rc), 0o600); err != nil {
		f.t.Fatal(err)
	}
	res, err := Read(context.Background(), path, Options{Home: f.home})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// status writes the LocalStatus database name with uid -> flags rows.
func (f *fixture) status(name string, rows map[int64]string) {
	f.t.Helper()
	dir := filepath.Join(f.meta, "Account-a", "LocalStatus-sqlite")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		f.t.Fatal(err)
	}
	// As a URI: modernc's driver would take a "?" in a plain name for
	// the start of its options.
	u := url.URL{Scheme: "file", Path: filepath.Join(dir, name), RawQuery: "mode=rwc"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		f.t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE TABLE metadata (key VARCHAR(50) PRIMARY KEY, value VARCHAR(128))",
		"INSERT INTO metadata VALUES('db_version', '2')",
		"CREATE TABLE status (id INTEGER PRIMARY KEY, flags VARCHAR(50), mtime INTEGER, labels VARCHAR(256))",
	} {
		if _, err := db.Exec(q); err != nil {
			f.t.Fatal(err)
		}
	}
	for uid, fl := range rows {
		if _, err := db.Exec("INSERT INTO status VALUES(?, ?, 0, '')", uid, fl); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) validity(name, content string) {
	f.t.Helper()
	f.write(filepath.Join(f.meta, "Repository-r", "FolderValidity", name), content)
}

func (f *fixture) write(path, content string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// folder makes the local folder (name with "/" between directory levels).
func (f *fixture) folder(name string) {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(f.root, name, sub), 0o700); err != nil {
			f.t.Fatal(err)
		}
	}
}

// msg writes a message file; fmd5Of is the folder whose FMD5 it carries
// ("" for none).
func (f *fixture) msg(folder, sub, prefix, fmd5Of string, uid int, info string) string {
	name := prefix
	if uid > 0 {
		name += fmt.Sprintf(",U=%d", uid)
	}
	if fmd5Of != "" {
		sum := md5.Sum([]byte(fmd5Of))
		name += ",FMD5=" + hex.EncodeToString(sum[:])
	}
	key := name
	name += info
	f.write(filepath.Join(f.root, folder, sub, name), "Subject: x\n\nbody\n")
	return key
}

func folderByName(res *migrate.Result, name string) *migrate.Folder {
	for i := range res.Folders {
		if res.Folders[i].Name == name {
			return &res.Folders[i]
		}
	}
	return nil
}

func TestStatePairs(t *testing.T) {
	f := newFixture(t, "/")
	f.folder("INBOX")
	f.folder("Archive")
	f.folder("Archive/2023")
	f.folder("Entw&APw-rfe")
	f.folder("Local-only") // never synced: no status, ignored
	k1 := f.msg("INBOX", "cur", "100_0.1.h", "INBOX", 1, ":2,S")
	k2 := f.msg("INBOX", "new", "100_1.1.h", "INBOX", 2, "")
	f.msg("INBOX", "cur", "100_2.1.h", "Archive", 4, ":2,S") // moved in from Archive
	f.msg("INBOX", "new", "100_3.1.h", "INBOX", 1, "")       // a second file with UID 1
	k5 := f.msg("INBOX", "cur", "100_4.1.h", "", 5, ":2,RS") // no FMD5 (older OfflineIMAP)
	f.msg("INBOX", "cur", "100_5.1.h", "", 0, ":2,")         // new locally
	f.status("INBOX", map[int64]string{1: "S", 2: "FRSa", 3: "S", 4: "S", 5: "RS"})
	f.validity("INBOX", "1700000001\n")
	k6 := f.msg("Archive/2023", "cur", "100_6.1.h", "Archive/2023", 7, ":2,T")
	f.status("Archive.2023", map[int64]string{7: "T"})
	f.validity("Archive.2023", "1700000002\n")
	f.status("Entw&APw-rfe", nil)
	f.validity("Entw&APw-rfe", "1700000003\n")
	f.status("Gone", map[int64]string{1: ""}) // its local folder was removed
	f.validity("Gone", "1700000004\n")
	// Archive: status but no FolderValidity (never completed a sync).
	f.status("Archive", nil)
	f.write(filepath.Join(f.meta, "Account-a", "LocalStatus-sqlite", "INBOX-journal"), "")

	res := f.read()
	got := fmt.Sprint(res.Folders)
	want := fmt.Sprint([]migrate.Folder{
		{Channel: "a", Name: "Archive/2023", UIDValidity: 1700000002, Pairs: []migrate.Pair{{UID: 7, Key: k6, Flags: "T"}}},
		{Channel: "a", Name: "Entwürfe", UIDValidity: 1700000003, Pairs: []migrate.Pair{}},
		{Channel: "a", Name: "INBOX", UIDValidity: 1700000001, Pairs: []migrate.Pair{
			{UID: 1, Key: k1, Flags: "S"}, {UID: 2, Key: k2, Flags: "FRS"}, {UID: 5, Key: k5, Flags: "RS"}}},
	})
	if got != want {
		t.Errorf("folders\n got %s\nwant %s", got, want)
	}
	for _, text := range []string{
		`folder "INBOX": 2 message(s) OfflineIMAP knew have no local file`, // 3, and 4 whose file is Archive's
		`folder "INBOX": 1 file(s) carry another folder's FMD5`,
		`folder "INBOX": 1 file(s) carry the server UID of another file`,
		`the status of "Gone" has no local folder`,
		`OfflineIMAP never completed a sync of folder "Archive"`,
	} {
		if !hasNote(res.Notes, text) {
			t.Errorf("no note %q in\n%s", text, notesString(res.Notes))
		}
	}
	if len(res.Notes) != 5 {
		t.Errorf("%d notes:\n%s", len(res.Notes), notesString(res.Notes))
	}
}

func TestStateFlat(t *testing.T) {
	f := newFixture(t, ".")
	f.folder("INBOX")
	f.folder("INBOX.Sent")
	f.folder("Archive.2023")
	f.folder("Dot.ted")
	f.folder("Nested/Deeper") // not a folder with sep ".": not scanned
	kSent := f.msg("INBOX.Sent", "cur", "1_0.1.h", "INBOX.Sent", 3, ":2,S")
	f.status("INBOX.Sent", map[int64]string{3: "S"})
	f.validity("INBOX.Sent", "5\n")
	f.status("Archive.2023", nil)
	f.validity("Archive.2023", "6\n")
	f.status("Dot.ted", nil) // OfflineIMAP skipped the server's Dot.ted
	f.status("INBOX", nil)
	f.validity("INBOX", "7\n")
	res := f.read()
	var names []string
	for _, fo := range res.Folders {
		names = append(names, fo.Name)
	}
	if fmt.Sprint(names) != "[Archive/2023 INBOX INBOX/Sent]" {
		t.Errorf("folders %v", names)
	}
	if s := folderByName(res, "INBOX/Sent"); s == nil || fmt.Sprint(s.Pairs) != fmt.Sprint([]migrate.Pair{{UID: 3, Key: kSent, Flags: "S"}}) {
		t.Errorf("INBOX/Sent: %+v", s)
	}
	if !hasNote(res.Notes, `OfflineIMAP never synced folder "Dot.ted"`) || !hasNote(res.Notes, `with sep = "." it skips every server folder whose name contains "."`) {
		t.Errorf("notes:\n%s", notesString(res.Notes))
	}
}

func TestStateDecodeFolderNames(t *testing.T) {
	// decodefoldernames: UTF-8 local names and status, FolderValidity
	// named after the raw server name.
	f := newFixture(t, "/")
	f.repo = "decodefoldernames = yes"
	f.folder("Entwürfe")
	k := f.msg("Entwürfe", "cur", "1_0.1.h", "Entwürfe", 9, ":2,D")
	f.status("Entwürfe", map[int64]string{9: "D"})
	f.validity("Entw&APw-rfe", "77\n")
	res := f.read()
	if len(res.Folders) != 1 || res.Folders[0].Name != "Entwürfe" || res.Folders[0].UIDValidity != 77 || res.Folders[0].Pairs[0].Key != k {
		t.Errorf("%+v\n%s", res.Folders, notesString(res.Notes))
	}
	if res.Config.Maildir[0].Names != "utf8" {
		t.Errorf("%+v", res.Config.Maildir[0])
	}
}

func TestStateOddNames(t *testing.T) {
	f := newFixture(t, "/")
	for i, n := range []string{"100% ?#x", "a b&c"} {
		f.folder(n)
		k := f.msg(n, "cur", "1_0.1.h", n, 1, ":2,S")
		f.status(n, map[int64]string{1: "S"})
		f.validity(n, fmt.Sprintf("%d\n", i+1))
		res := f.read()
		if fo := folderByName(res, n); fo == nil || len(fo.Pairs) != 1 || fo.Pairs[0].Key != k {
			t.Errorf("%q: %+v\n%s", n, res.Folders, notesString(res.Notes))
		}
	}
}

func TestStateWindowsCompatible(t *testing.T) {
	f := newFixture(t, "/")
	f.acct = "maildir-windows-compatible = yes"
	f.folder("INBOX")
	k := f.msg("INBOX", "cur", "1_0.1.h", "INBOX", 2, "!2,FS")
	f.status("INBOX", map[int64]string{2: "FS"})
	f.validity("INBOX", "1\n")
	res := f.read()
	if fmt.Sprint(res.Folders[0].Pairs) != fmt.Sprint([]migrate.Pair{{UID: 2, Key: k, Flags: "FS"}}) {
		t.Errorf("%+v", res.Folders)
	}
}

func TestStateFilterAndNametrans(t *testing.T) {
	f := newFixture(t, "/")
	f.repo = "folderfilter = lambda f: f in ['INBOX']"
	for _, n := range []string{"INBOX", "Junk"} {
		f.folder(n)
		f.status(n, nil)
		f.validity(n, "3\n")
	}
	res := f.read()
	if len(res.Folders) != 1 || res.Folders[0].Name != "INBOX" {
		t.Errorf("filtered: %+v", res.Folders)
	}

	f.repo = "nametrans = lambda f: 'Remote.' + f"
	res = f.read()
	if len(res.Folders) != 0 || !hasNote(res.Notes, "is not adopted (see the nametrans note)") {
		t.Errorf("nametrans: %+v\n%s", res.Folders, notesString(res.Notes))
	}
}

func TestStateBroken(t *testing.T) {
	f := newFixture(t, "/")
	for _, n := range []string{"INBOX", "Sent", "A.b", "A/b"} {
		f.folder(n)
	}
	f.status("INBOX", nil)
	f.validity("INBOX", "not a number\n")
	f.write(filepath.Join(f.meta, "Account-a", "LocalStatus-sqlite", "Sent"), "this is not SQLite, but long enough to look like a file header....................................................")
	f.validity("Sent", "4\n")
	f.status("A.b", nil) // "A.b" and "A/b" share it
	f.validity("A.b", "5\n")
	res := f.read()
	if len(res.Folders) != 0 {
		t.Errorf("%+v", res.Folders)
	}
	for _, text := range []string{"does not hold a UIDVALIDITY", "cannot read this OfflineIMAP status", `local folders "A.b" and "A/b" share this one OfflineIMAP status`} {
		if !hasNote(res.Notes, text) {
			t.Errorf("no note %q in\n%s", text, notesString(res.Notes))
		}
	}
}

// The helpers above assume these file names; keep them honest.
func TestFixtureNames(t *testing.T) {
	if got := statusName("Archive/2023", "/"); got != "Archive.2023" {
		t.Error(got)
	}
	if got := statusName("Archive.2023", "."); got != "Archive.2023" {
		t.Error(got)
	}
	if !strings.HasPrefix(mustEncode("Entwürfe"), "Entw&") {
		t.Error("mUTF-7")
	}
}

func mustEncode(s string) string {
	e, _ := mutf7.Encode(s)
	return e
}
