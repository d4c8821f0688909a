package state

import (
	"context"
	"fmt"
	"testing"
)

// benchDB is a state of 30 folders of 667 pairs each (20,010 messages).
func benchDB(b *testing.B) (*DB, []*Folder) {
	ctx := context.Background()
	d, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	var fs []*Folder
	for i := 0; i < 30; i++ {
		f, err := d.EnsureFolder(ctx, "c", fmt.Sprint("F", i))
		if err != nil {
			b.Fatal(err)
		}
		fs = append(fs, f)
		tx, _ := d.Begin(ctx)
		for u := 1; u <= 667; u++ {
			if err := tx.PutPair(f.ID, Pair{UID: uint32(u), Key: fmt.Sprintf("1795650944.M620021P12997Q6295R9549e%d-%d.vm", i, u), Flags: "S", Size: 5000,
				Fingerprint: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", MessageID: "<1234567.abcdef@example.com>"}); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return d, fs
}

// BenchmarkSmallTx: one flag-update transaction of a folder (7 pairs; each
// pass over the 30 folders changes the flags the pass before set).
func BenchmarkSmallTx(b *testing.B) {
	ctx := context.Background()
	d, fs := benchDB(b)
	n := 0
	for b.Loop() {
		i := n % 30
		f := fs[i]
		n++
		tx, _ := d.Begin(ctx)
		for u := 1; u <= 7; u++ {
			ok, err := tx.SetPairFlags(f.ID, uint32(u*50), fmt.Sprintf("1795650944.M620021P12997Q6295R9549e%d-%d.vm", i, u*50), []string{"FS", "S"}[((n-1)/30)%2])
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
		tx.SaveFolder(f)
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPairsLoad: loading the 667 pairs of one folder of 30, with and
// without their meta.
func BenchmarkPairsLoad(b *testing.B) {
	ctx := context.Background()
	d, fs := benchDB(b)
	for _, v := range []struct {
		name string
		load func(context.Context, int64) ([]Pair, error)
	}{{"full", d.Pairs}, {"brief", d.PairsBrief}} {
		b.Run(v.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				ps, err := v.load(ctx, fs[n%30].ID)
				n++
				if err != nil || len(ps) != 667 {
					b.Fatal(err, len(ps))
				}
			}
		})
	}
}
