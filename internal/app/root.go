package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/state"
)

// errRootGone marks a Maildir root that is missing or empty while the state
// says it held mail.
var errRootGone = errors.New("maildir root gone")

// checkRoot refuses to sync into a Maildir root that is missing, or holds no
// folder, while the state says the target (a channel or a POP account) put
// mail there: an unmounted disk, a moved tree or a path that now resolves
// elsewhere must fail loudly. Taken for "the user deleted every folder" it
// would hold new mail back forever; taken for a first sync it would fill
// the mount point underneath. known is how many messages the state holds.
func checkRoot(cfg *config.Config, m *config.Maildir, target string, known int) error {
	if known == 0 {
		return nil // a first sync creates the root
	}
	fix := fmt.Sprintf("if it is on a disk that is not mounted, mount it; if the tree moved, set path (%s); to download everything again into it on purpose, run: mdsync sync --redownload %s", cfg.Pos("maildir."+m.Name+".path"), target)
	fi, err := os.Stat(m.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: maildir.%s: %s does not exist, but the state holds %d messages synced there; %s", errRootGone, m.Name, m.Path, known, fix)
	case err != nil:
		return fmt.Errorf("maildir.%s: %w", m.Name, err)
	case !fi.IsDir():
		return fmt.Errorf("maildir.%s: %s is not a directory (%s)", m.Name, m.Path, cfg.Pos("maildir."+m.Name+".path"))
	}
	store, err := openStore(cfg, m.Name)
	if err != nil {
		return err
	}
	if !store.HasFolder() { // stops at the first folder: no listing twice per run
		return fmt.Errorf("%w: maildir.%s: %s holds no Maildir folder, but the state holds %d messages synced there; %s", errRootGone, m.Name, m.Path, known, fix)
	}
	return nil
}

// forgetChannel drops what the state knows of a channel (--redownload):
// its next sync is a first one, which downloads what the server has and
// links what is still on disk by content; it deletes nothing anywhere.
func forgetChannel(ctx context.Context, db *state.DB, channel string) error {
	folders, err := db.Folders(ctx, channel)
	if err != nil {
		return err
	}
	tx, err := db.BeginDurable(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, f := range folders {
		if err := tx.DeleteFolder(f.ID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// forgetPOP drops the UIDLs an account recorded (--redownload): the next
// fetch downloads again what the server still holds.
func forgetPOP(ctx context.Context, db *state.DB, account string) error {
	seen, err := db.POPSeen(ctx, account)
	if err != nil {
		return err
	}
	tx, err := db.BeginDurable(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for u := range seen {
		if err := tx.POPForget(account, u); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// openState opens the state DB; one SQLite says is damaged is set aside and
// a new one started (rebuildState).
func openState(ctx context.Context, e *env, dir string) (*state.DB, error) {
	db, err := state.Open(ctx, dir)
	if err != nil && state.IsDamaged(err) && !e.dryRun {
		return rebuildState(ctx, e, dir, err.Error())
	}
	return db, err
}

// rebuildState sets a damaged state DB aside (it is kept, never deleted)
// and opens a new one, saying so in one line: the next sync links both
// sides by content, as after a lost state, so nothing is copied twice.
func rebuildState(ctx context.Context, e *env, dir, why string) (*state.DB, error) {
	aside, err := state.SetAside(dir, time.Now())
	if err != nil {
		return nil, err
	}
	e.errorf("warning: the state database was damaged (%s); it is kept as %s and rebuilt by matching the messages of both sides", damageReason(why), aside)
	return state.Open(ctx, dir)
}

// damagedIn returns the error of the first target that failed because the
// state DB is damaged, or "".
func damagedIn(results []targetResult) string {
	for _, r := range results {
		if !r.OK && state.IsDamagedText(r.Error) {
			return r.Error
		}
	}
	return ""
}

func damageReason(s string) string {
	if strings.Contains(s, "file is not a database") {
		return "file is not a database"
	}
	return "database disk image is malformed"
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
