package state

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func open(t *testing.T) *DB {
	t.Helper()
	d, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestReopenKeepsSchemaAndRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := d.EnsureFolder(ctx, "work", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := d.Begin(ctx)
	f.UIDValidity, f.UIDNext, f.HighestModSeq = 7, 10, 99
	if err := tx.SaveFolder(f); err != nil {
		t.Fatal(err)
	}
	if err := tx.PutPair(f.ID, Pair{UID: 3, Key: "k3", Flags: "S", Size: 10}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fs, err := d.Folders(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	g := fs["INBOX"]
	if g == nil || g.UIDValidity != 7 || g.UIDNext != 10 || g.HighestModSeq != 99 {
		t.Fatalf("folder after reopen = %+v", g)
	}
	ps, _ := d.Pairs(ctx, g.ID)
	if len(ps) != 1 || ps[0].Key != "k3" || ps[0].Flags != "S" {
		t.Fatalf("pairs = %+v", ps)
	}
}

func TestPutPairReplaces(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	f, _ := d.EnsureFolder(ctx, "c", "INBOX")
	steps := []struct {
		put  Pair
		want int
	}{
		{Pair{UID: 1, Key: "a", Flags: ""}, 1},
		{Pair{UID: 2, Key: "b", Flags: "S"}, 2},
		{Pair{UID: 1, Key: "a", Flags: "FS"}, 2}, // same uid+key: replaced
		{Pair{UID: 5, Key: "b", Flags: "S"}, 2},  // same key, new uid: replaced
		{Pair{UID: 0, Key: "c", Flags: ""}, 3},   // tombstones allowed many
		{Pair{UID: 9, Key: "", Flags: ""}, 4},
	}
	for i, s := range steps {
		tx, _ := d.Begin(ctx)
		if err := tx.PutPair(f.ID, s.put); err != nil {
			t.Fatal(err)
		}
		tx.Commit()
		ps, _ := d.Pairs(ctx, f.ID)
		if len(ps) != s.want {
			t.Fatalf("step %d: %d pairs %+v, want %d", i, len(ps), ps, s.want)
		}
	}
	tx, _ := d.Begin(ctx)
	tx.DeletePair(f.ID, 5, "")
	tx.DeletePair(f.ID, 0, "c")
	tx.Commit()
	ps, _ := d.Pairs(ctx, f.ID)
	if len(ps) != 2 {
		t.Fatalf("after delete: %+v", ps)
	}
}

func TestJournalAndPOP(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	tx, _ := d.Begin(ctx)
	e := &Entry{Owner: ChannelOwner("work"), FolderID: 1, Op: JournalFetch, UID: 4, Key: "k"}
	if err := tx.AddJournal(e); err != nil {
		t.Fatal(err)
	}
	pe := &Entry{Owner: POPOwner("isp"), Op: JournalPOPDeliver, Key: "k2", Arg: "u2"}
	if err := tx.AddJournal(pe); err != nil {
		t.Fatal(err)
	}
	if err := tx.AddJournal(&Entry{Op: JournalFetch}); err == nil {
		t.Fatal("an entry without owner was accepted")
	}
	now := time.Unix(1700000000, 0)
	tx.POPRecord("isp", UIDL{UIDL: "u1", FirstSeen: now, DeliveredKey: "k1"})
	tx.Commit()
	j, _ := d.Journal(ctx, ChannelOwner("work"))
	if len(j) != 1 || j[0].Op != JournalFetch || j[0].UID != 4 {
		t.Fatalf("channel journal = %+v", j)
	}
	if j, _ := d.Journal(ctx, POPOwner("isp")); len(j) != 1 || j[0].Arg != "u2" || j[0].Key != "k2" {
		t.Fatalf("pop journal = %+v", j)
	}
	if j, _ := d.Journal(ctx, ChannelOwner("isp")); len(j) != 0 {
		t.Fatalf("another owner's journal = %+v", j)
	}
	tx, _ = d.Begin(ctx)
	tx.DoneJournal(e.ID)
	tx.Commit()
	if j, _ := d.Journal(ctx, ChannelOwner("work")); len(j) != 0 {
		t.Fatalf("journal after done = %+v", j)
	}
	seen, _ := d.POPSeen(ctx, "isp")
	if u := seen["u1"]; u.DeliveredKey != "k1" || !u.FirstSeen.Equal(now) || u.Status != POPDelivered {
		t.Fatalf("uidl = %+v", u)
	}
	tx, _ = d.Begin(ctx)
	tx.POPForget("isp", "u1")
	tx.Commit()
	if n, _ := d.POPCount(ctx, "isp"); n != 0 {
		t.Fatalf("count after forget = %d", n)
	}
}

func TestTargets(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	t0 := time.Unix(1700000000, 0)
	d.RecordTarget(ctx, Target{Name: "work", Kind: "channel", LastStart: t0, LastEnd: t0.Add(time.Second), OK: true, Counts: `{"fetched":3}`})
	d.RecordTarget(ctx, Target{Name: "work", Kind: "channel", LastStart: t0.Add(time.Hour), LastEnd: t0.Add(time.Hour), OK: false, Error: "boom", Counts: `{}`})
	ts, err := d.Targets(ctx)
	if err != nil || len(ts) != 1 {
		t.Fatal(ts, err)
	}
	if ts[0].OK || ts[0].Error != "boom" || !ts[0].LastSuccess.Equal(t0.Add(time.Second)) {
		t.Fatalf("target = %+v", ts[0])
	}
}

// TestMigrateFromV2: a state written by the version-2 schema opens, keeps
// its rows, and gains the listing column (empty: unknown).
func TestMigrateFromV2(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := dir + "/" + FileName
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:2] {
		if _, err := raw.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`PRAGMA user_version = 2; INSERT INTO folder(channel, name, cur_mtime) VALUES('c', 'INBOX', 42)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	d, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fs, err := d.Folders(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	f := fs["INBOX"]
	if f == nil || f.CurMTime != 42 || f.Listing != "" {
		t.Fatalf("after migration: %+v", f)
	}
	tx, _ := d.Begin(ctx)
	f.Listing = "abc"
	if err := tx.SaveFolder(f); err != nil {
		t.Fatal(err)
	}
	if err := tx.SaveMTimes(f.ID, 7, 8); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	fs, _ = d.Folders(ctx, "c")
	if g := fs["INBOX"]; g.Listing != "abc" || g.CurMTime != 7 || g.NewMTime != 8 {
		t.Fatalf("saved: %+v", g)
	}
}

// TestPairsBriefMatchesPairs: the one-string load gives back every pair's
// UID, key and flags exactly, whatever bytes a key holds, tombstones too.
func TestPairsBriefMatchesPairs(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	f, err := d.EnsureFolder(ctx, "c", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	other, err := d.EnsureFolder(ctx, "c", "Other")
	if err != nil {
		t.Fatal(err)
	}
	empty, err := d.EnsureFolder(ctx, "c", "Empty")
	if err != nil {
		t.Fatal(err)
	}
	pairs := []Pair{
		{UID: 0, Key: "deleted on the server", Flags: "S"},
		{UID: 1, Key: "1700000000.M1P2Q3.host", Flags: "FS", Size: 10, Fingerprint: "ab", MessageID: "<m@x>"},
		{UID: 2, Key: "", Flags: ""},
		{UID: 3, Key: "12 34 5 key with spaces", Flags: "RS"},
		{UID: 4, Key: "new\nline,and\x00nul", Flags: "T"},
		{UID: 5, Key: "Ärzte-ключ-🙂", Flags: "DFPRST"},
		{UID: 4294967295, Key: "9", Flags: "S"},
	}
	tx, _ := d.Begin(ctx)
	for i := range pairs { // in the reverse of the order the loads give
		if err := tx.PutPair(f.ID, pairs[len(pairs)-1-i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.PutPair(other.ID, Pair{UID: 1, Key: "not this folder's", Flags: "S"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := d.PairsBrief(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	full, err := d.Pairs(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pairs) || len(full) != len(pairs) {
		t.Fatalf("brief %d pairs, full %d, want %d", len(got), len(full), len(pairs))
	}
	for i, p := range pairs { // ordered by UID, then key
		if full[i] != p {
			t.Errorf("pair %d: full %+v, want %+v", i, full[i], p)
		}
		if want := (Pair{UID: p.UID, Key: p.Key, Flags: p.Flags}); got[i] != want {
			t.Errorf("pair %d: brief %+v, want %+v", i, got[i], want)
		}
	}
	if none, err := d.PairsBrief(ctx, empty.ID); err != nil || len(none) != 0 {
		t.Errorf("empty folder: %v pairs, err %v", none, err)
	}
}

// TestCheckpoint: what was committed is copied into the database file,
// and still read back.
func TestCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, err := d.EnsureFolder(ctx, "c", "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		st, err := os.Stat(filepath.Join(dir, FileName))
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	if err := d.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	before := size()
	tx, _ := d.Begin(ctx)
	for u := 1; u <= 2000; u++ {
		if err := tx.PutPair(f.ID, Pair{UID: uint32(u), Key: fmt.Sprintf("key-%d", u), Flags: "S"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if size() != before {
		t.Fatalf("the database file changed before the checkpoint")
	}
	if err := d.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if after := size(); after <= before {
		t.Fatalf("database file %d bytes after the checkpoint, %d before: nothing copied", after, before)
	}
	ps, err := d.PairsBrief(ctx, f.ID)
	if err != nil || len(ps) != 2000 {
		t.Fatalf("%d pairs after the checkpoint, err %v", len(ps), err)
	}
}

// A journal written before owners existed is given them by the migration:
// channel entries by their folder, POP entries by the account in arg.
func TestJournalOwnerMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := raw.Exec(migrations[i]); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	for _, q := range []string{
		`PRAGMA user_version = 5`,
		`INSERT INTO folder(id, channel, name) VALUES(7, 'work', 'INBOX')`,
		`INSERT INTO journal(folder_id, op, uid, key, arg, created_at) VALUES(7, 'fetch', 3, 'k1', '', 1)`,
		`INSERT INTO journal(folder_id, op, uid, key, arg, created_at) VALUES(7, 'move', 4, 'k2', 'Archive' || char(0) || 'k9', 1)`,
		`INSERT INTO journal(folder_id, op, uid, key, arg, created_at) VALUES(0, 'pop-deliver', 0, 'k3', 'isp' || char(0) || 'uidl-1', 1)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	d, err := OpenFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ch, err := d.Journal(ctx, ChannelOwner("work"))
	if err != nil || len(ch) != 2 || ch[0].Op != JournalFetch || ch[0].FolderID != 7 || ch[1].Op != JournalMove || ch[1].Arg != "" {
		t.Fatalf("channel entries = %+v, %v", ch, err)
	}
	pop, err := d.Journal(ctx, POPOwner("isp"))
	if err != nil || len(pop) != 1 || pop[0].Arg != "uidl-1" || pop[0].Key != "k3" {
		t.Fatalf("pop entries = %+v, %v", pop, err)
	}
}
