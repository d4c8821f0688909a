package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/mdsync/mdsync/state"
	"github.com/mdsync/mdsync/syncer"
)

// Go benchmarks asked for by issue 5: the planner and the state database
// at 200,000 messages. They measure; they assert nothing about time.
//
//	go test -run x -bench . -benchmem ./internal/bench/

const bigN = 200_000

var benchPolicy = syncer.Policy{Expunge: syncer.SidesBoth, MaxDeletePercent: 50, MaxDeleteCount: -1}

func bigPairs(n int) []state.Pair {
	ps := make([]state.Pair, n)
	for i := range ps {
		ps[i] = state.Pair{
			UID:       uint32(i + 1),
			Key:       fmt.Sprintf("1700000000.M%06dP4242Q%d.bench", i%1000000, i),
			Flags:     []string{"S", "RS", "", "FS"}[i%4],
			Size:      int64(2000 + i%5000),
			MessageID: fmt.Sprintf("%d.bench@example.org", i),
		}
	}
	return ps
}

// fullInput is a folder where both sides were listed in full: 1% of the
// messages changed flags on the server, 1% locally, 100 were deleted
// locally and 200 are new on the server.
func fullInput(n int) syncer.FolderInput {
	ps := bigPairs(n)
	in := syncer.FolderInput{
		Name:        "INBOX",
		Pairs:       ps,
		Local:       make(map[string]syncer.Local, n),
		RemoteUIDs:  make(map[uint32]bool, n+200),
		RemoteFlags: map[uint32]string{},
	}
	for i, p := range ps {
		in.RemoteUIDs[p.UID] = true
		if i%100 == 50 {
			in.RemoteFlags[p.UID] = p.Flags + "F"
		}
		if i%2000 == 7 { // 100 local deletions at 200k
			continue
		}
		flags := p.Flags
		if i%100 == 20 {
			flags = "DS"
		}
		in.Local[p.Key] = syncer.Local{Key: p.Key, Flags: flags}
	}
	for k := 0; k < 200; k++ {
		uid := uint32(n + 1 + k)
		in.RemoteUIDs[uid] = true
		in.RemoteFlags[uid] = ""
	}
	return in
}

// BenchmarkPlanFolder200kFull plans a folder of 200,000 messages from full
// listings of both sides.
func BenchmarkPlanFolder200kFull(b *testing.B) {
	in := fullInput(bigN)
	b.ReportAllocs()
	b.ResetTimer()
	var actions int
	for i := 0; i < b.N; i++ {
		fp := syncer.PlanFolder(in, benchPolicy)
		actions = len(fp.Actions)
	}
	b.ReportMetric(float64(actions), "actions")
}

// BenchmarkPlanFolder200kNoChange plans a folder of 200,000 messages where
// neither side changed (LocalUnchanged, RemoteUnchanged): the cost of a
// no-change run once a folder was selected.
func BenchmarkPlanFolder200kNoChange(b *testing.B) {
	in := syncer.FolderInput{Name: "INBOX", Pairs: bigPairs(bigN), LocalUnchanged: true, RemoteUnchanged: true,
		RemoteFlags: map[uint32]string{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = syncer.PlanFolder(in, benchPolicy)
	}
}

// BenchmarkPlanFolder200kFlagsOnly: nothing local changed, 1% of the
// server's flags changed (a CONDSTORE CHANGEDSINCE answer).
func BenchmarkPlanFolder200kFlagsOnly(b *testing.B) {
	ps := bigPairs(bigN)
	rf := map[uint32]string{}
	for i := 0; i < bigN; i += 100 {
		rf[ps[i].UID] = ps[i].Flags + "F"
	}
	in := syncer.FolderInput{Name: "INBOX", Pairs: ps, LocalUnchanged: true, RemoteUnchanged: true, RemoteFlags: rf}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = syncer.PlanFolder(in, benchPolicy)
	}
}

func openBenchDB(b *testing.B) *state.DB {
	b.Helper()
	db, err := state.OpenFile(context.Background(), filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

func savePairs(b *testing.B, db *state.DB, folder string, ps []state.Pair) int64 {
	b.Helper()
	ctx := context.Background()
	f, err := db.EnsureFolder(ctx, "bench", folder)
	if err != nil {
		b.Fatal(err)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range ps {
		if err := tx.PutPair(f.ID, p); err != nil {
			tx.Rollback()
			b.Fatal(err)
		}
	}
	f.UIDNext = uint32(len(ps) + 1)
	f.Messages = uint32(len(ps))
	if err := tx.SaveFolder(f); err != nil {
		tx.Rollback()
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return f.ID
}

// stateSizes are the folder sizes of the state benchmarks: 200,000 is what
// issue 5 asks for; 2,000 and 20,000 show the growth (linear: PutPair's
// deletes name the partial indexes' conditions, so each put is a lookup).
func stateSizes(b *testing.B) []int {
	return []int{2_000, 20_000, bigN}
}

// BenchmarkStateSave writes the pairs of a new folder in one transaction
// (what an initial sync of such a folder commits in total).
func BenchmarkStateSave(b *testing.B) {
	for _, n := range stateSizes(b) {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ps := bigPairs(n)
			db := openBenchDB(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				savePairs(b, db, fmt.Sprintf("F%d", i), ps)
			}
			b.ReportMetric(float64(n), "pairs/op")
		})
	}
}

// BenchmarkStateLoad loads the pairs of a folder.
func BenchmarkStateLoad(b *testing.B) {
	for _, n := range stateSizes(b) {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			db := openBenchDB(b)
			id := savePairs(b, db, "INBOX", bigPairs(n))
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ps, err := db.Pairs(ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				if len(ps) != n {
					b.Fatalf("loaded %d pairs, want %d", len(ps), n)
				}
			}
		})
	}
}
