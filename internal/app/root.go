package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mdsync/mdsync/internal/config"
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
