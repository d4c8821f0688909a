package syncer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// recoverySetup makes a folder of n delivered files whose fetch entries a
// killed run left in the journal, plus n entries whose files never landed.
func recoverySetup(tb testing.TB, n int) (Options, *folderSync, []state.Entry) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	store, err := maildir.OpenWith(filepath.Join(dir, "mail"), maildir.Options{Layout: maildir.Verbatim})
	if err != nil {
		tb.Fatal(err)
	}
	f, err := store.CreateFolder("INBOX", '/')
	if err != nil {
		tb.Fatal(err)
	}
	db, err := state.Open(ctx, filepath.Join(dir, "state"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	st, err := db.EnsureFolder(ctx, "t", "INBOX")
	if err != nil {
		tb.Fatal(err)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < 2*n; i++ {
		key := fmt.Sprintf("1700000000.M%dP1.host", i)
		if i < n {
			if err := os.WriteFile(filepath.Join(f.Path(), "cur", key+":2,S"), []byte("Subject: x\n\nbody\n"), 0o600); err != nil {
				tb.Fatal(err)
			}
		}
		if err := tx.AddJournal(&state.Entry{Owner: state.ChannelOwner("t"), FolderID: st.ID, Op: state.JournalFetch, UID: uint32(i + 1), Key: key}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	journal, err := db.Journal(ctx, state.ChannelOwner("t"))
	if err != nil {
		tb.Fatal(err)
	}
	return Options{DB: db, Store: store}, &folderSync{name: "INBOX", local: f, st: st}, journal
}

// TestRecoverFolder: the delivered files of a killed run's fetch entries
// become pairs with their flags, the others are forgotten, the journal is
// empty afterwards, and the note says what happened.
func TestRecoverFolder(t *testing.T) {
	for _, n := range []int{3, 50} { // one by one, and from one listing
		o, w, journal := recoverySetup(t, n)
		res := &Result{}
		if err := recoverFolder(context.Background(), o, w, journal, res); err != nil {
			t.Fatal(err)
		}
		pairs, err := o.DB.Pairs(context.Background(), w.st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(pairs) != n {
			t.Errorf("n=%d: %d pairs, want %d", n, len(pairs), n)
		}
		for _, p := range pairs {
			if p.Flags != "S" || p.UID > uint32(n) {
				t.Errorf("n=%d: pair %+v", n, p)
			}
		}
		if left, _ := o.DB.Journal(context.Background(), state.ChannelOwner("t")); len(left) != 0 {
			t.Errorf("n=%d: %d journal entries left", n, len(left))
		}
		want := fmt.Sprintf("INBOX: finished %d actions an earlier run left open (%d downloaded messages kept)", 2*n, n)
		if len(res.Notes) != 1 || res.Notes[0].Text != want || !res.Notes[0].Notice {
			t.Errorf("n=%d: notes %q, want %q", n, res.Notes, want)
		}
	}
}

// BenchmarkRecoverFolder: recovery of a killed first sync's journal is
// linear in the number of entries and files (compare the ns/op of the
// sizes: 2x entries should take about 2x the time).
func BenchmarkRecoverFolder(b *testing.B) {
	for _, n := range []int{5000, 10000, 20000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				o, w, journal := recoverySetup(b, n)
				b.StartTimer()
				if err := recoverFolder(context.Background(), o, w, journal, &Result{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
