package state

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkSmallTx: one flag-update transaction of a folder (7 pairs).
func BenchmarkSmallTx(b *testing.B) {
	ctx := context.Background()
	d, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var fs []*Folder
	for i := 0; i < 30; i++ {
		f, _ := d.EnsureFolder(ctx, "c", fmt.Sprint("F", i))
		fs = append(fs, f)
		tx, _ := d.Begin(ctx)
		for u := 1; u <= 667; u++ {
			tx.PutPair(f.ID, Pair{UID: uint32(u), Key: fmt.Sprintf("k%d-%d", i, u), Flags: "S", Size: 5000, Fingerprint: "abcdef0123456789abcdef0123456789", MessageID: "<x@y>"})
		}
		tx.Commit()
	}
	n := 0
	for b.Loop() {
		f := fs[n%30]
		n++
		tx, _ := d.Begin(ctx)
		for u := 1; u <= 7; u++ {
			tx.PutPair(f.ID, Pair{UID: uint32(u * 50), Key: fmt.Sprintf("k%d-%d", n%30, u*50), Flags: "FS"})
		}
		tx.SaveFolder(f)
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPairsLoad: loading the 667 pairs of one folder of 30.
func BenchmarkPairsLoad(b *testing.B) {
	ctx := context.Background()
	d, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	var fs []*Folder
	for i := 0; i < 30; i++ {
		f, _ := d.EnsureFolder(ctx, "c", fmt.Sprint("F", i))
		fs = append(fs, f)
		tx, _ := d.Begin(ctx)
		for u := 1; u <= 667; u++ {
			tx.PutPair(f.ID, Pair{UID: uint32(u), Key: fmt.Sprintf("1795650944.M620021P12997Q6295R9549e%d.vm", u), Flags: "S", Size: 5000, Fingerprint: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", MessageID: "<1234567.abcdef@example.com>"})
		}
		tx.Commit()
	}
	n := 0
	for b.Loop() {
		ps, err := d.Pairs(ctx, fs[n%30].ID)
		n++
		if err != nil || len(ps) != 667 {
			b.Fatal(err, len(ps))
		}
	}
}
