package state

import (
	"context"
	"fmt"
	"testing"
)

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
	for _, q := range []string{
		`SELECT uid, key, flags, size, fingerprint, message_id FROM pair WHERE folder_id = ? ORDER BY uid, key`,
		`SELECT uid, key, flags, size, fingerprint, message_id FROM pair WHERE folder_id = ?`,
		`SELECT uid, key, flags FROM pair WHERE folder_id = ?`,
	} {
		b.Run(q[7:30], func(b *testing.B) {
			n := 0
			for b.Loop() {
				rows, _ := d.db.QueryContext(ctx, q, fs[n%30].ID)
				n++
				cols, _ := rows.Columns()
				for rows.Next() {
					var p Pair
					if len(cols) == 6 {
						rows.Scan(&p.UID, &p.Key, &p.Flags, &p.Size, &p.Fingerprint, &p.MessageID)
					} else {
						rows.Scan(&p.UID, &p.Key, &p.Flags)
					}
				}
				rows.Close()
			}
		})
	}
}
