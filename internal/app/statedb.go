package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/mdsync/mdsync/state"
)

// openState opens the state DB; one SQLite says is damaged is set aside and
// a new one started (rebuildState).
func openState(ctx context.Context, e *env, dir string) (*state.DB, error) {
	db, err := state.Open(ctx, dir)
	if err != nil && state.IsDamaged(err) && !e.dryRun {
		return rebuildState(ctx, e, dir, err)
	}
	return db, err
}

// rebuildState sets a damaged state DB aside (it is kept, never deleted)
// and opens a new one, saying so in one line: the next sync links both
// sides by content, as after a lost state, so nothing is copied twice.
// damage is the error that found the file damaged.
func rebuildState(ctx context.Context, e *env, dir string, damage error) (*state.DB, error) {
	aside, err := state.SetAside(dir, time.Now())
	if err != nil {
		return nil, err
	}
	e.errorf("warning: the state database was damaged (%s); it is kept as %s and rebuilt by matching the messages of both sides", state.Damage(damage), aside)
	return state.Open(ctx, dir)
}

// damagedIn returns the error of the first target that failed because the
// state DB is damaged, or nil.
func damagedIn(results []targetResult) error {
	for _, r := range results {
		if !r.OK && state.IsDamaged(r.err) {
			return r.err
		}
	}
	return nil
}

// dryRunState opens a copy of the state DB in a temporary directory (a new
// empty one when there is none): a dry run plans from the state as it is
// and writes nothing beside it. The copy is removed when the DB closes.
func dryRunState(ctx context.Context, dir string) (*state.DB, error) {
	tmp, err := os.MkdirTemp("", "mdsync-dry-run-")
	if err != nil {
		return nil, err
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, state.FileName+suffix))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("read the state: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, state.FileName+suffix), b, 0o600); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
	}
	db, err := state.Open(ctx, tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	db.OnClose(func() { os.RemoveAll(tmp) })
	return db, nil
}
