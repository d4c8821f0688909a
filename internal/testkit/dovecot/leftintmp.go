package dovecot

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// LeftInTmp puts into tmp (a Maildir folder's tmp/) what two interrupted
// deliveries would leave: one untouched for 40 hours, one fresh. The check
// it returns fails the test unless the old one is gone and the fresh one
// kept (the 36-hour Maildir rule).
func LeftInTmp(t testing.TB, tmp string) (check func()) {
	t.Helper()
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	old, fresh := filepath.Join(tmp, "1.M1P1.old"), filepath.Join(tmp, "2.M2P2.fresh")
	for _, f := range []string{old, fresh} {
		if err := os.WriteFile(f, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	then := time.Now().Add(-40 * time.Hour)
	if err := os.Chtimes(old, then, then); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the 40-hour-old file in tmp/ is still there: %v", err)
		}
		if _, err := os.Stat(fresh); err != nil {
			t.Errorf("the fresh file in tmp/ was removed: %v", err)
		}
	}
}
