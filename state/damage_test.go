package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDamaged: a file that is not a database is reported damaged; set
// aside, it is kept under a new name and a new state opens in its place.
func TestDamaged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte("this is not an SQLite database, but it is long enough to have a header..........."), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dir)
	if err == nil || !IsDamaged(err) {
		t.Fatalf("Open of garbage: %v (damaged %v)", err, IsDamaged(err))
	}
	if got := Damage(err); got != "file is not a database" {
		t.Errorf("Damage of garbage: %q", got)
	}
	if got := Damage(fmt.Errorf("sync: %v", err)); got != "file is not a database" {
		t.Errorf("Damage of the error as text: %q", got)
	}
	if IsDamaged(errors.New("database is locked")) || IsDamaged(nil) {
		t.Error("a busy database or no error taken for damage")
	}
	aside, err := SetAside(dir, time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if aside != path+".damaged-20261203T120000Z" {
		t.Errorf("set aside as %s", aside)
	}
	if b, err := os.ReadFile(aside); err != nil || len(b) == 0 {
		t.Errorf("the damaged file was not kept: %v", err)
	}
	db, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("a new state does not open: %v", err)
	}
	db.Close()
}
