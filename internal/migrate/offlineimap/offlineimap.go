// Package offlineimap reads an OfflineIMAP (offlineimap3 8.0) setup — its
// INI config and its sync state — and returns what mdsync needs to take
// over: a migrate.Config with one channel per account, the adopted
// UIDVALIDITYs and message pairs, and a note for every setting that could
// not be carried over exactly. It never writes anything.
//
// ini.go parses the config as Python's configparser does; translate.go
// maps accounts and repositories (keys.go lists the keys it knows, imap.go
// the server side, channel.go create/expunge/folders, paths.go ~ and $VAR);
// pyexpr.go recognises the few Python expressions that can be translated;
// state.go reads LocalStatus-sqlite, FolderValidity and the Maildir file
// names; mutf7.go handles IMAP's modified UTF-7; running_unix.go tells
// whether OfflineIMAP holds the account's lock.
package offlineimap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/mdsync/mdsync/internal/migrate"
)

// Options tune Read.
type Options struct {
	// Home replaces "~" in paths (default: os.UserHomeDir).
	Home string
}

// DefaultConfigPath is the config file OfflineIMAP itself reads when given
// no -c: $XDG_CONFIG_HOME/offlineimap/config (XDG_CONFIG_HOME defaulting to
// ~/.config) when it exists, else ~/.offlineimaprc. (OfflineIMAP 8.0's
// init.py tries the XDG file first; a user with both has OfflineIMAP using
// the XDG one.)
func DefaultConfigPath() string {
	home, _ := os.UserHomeDir()
	xdg := os.Getenv("XDG_CONFIG_HOME")
	if xdg == "" {
		xdg = filepath.Join(home, ".config")
	}
	p := filepath.Join(xdg, "offlineimap", "config")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return filepath.Join(home, ".offlineimaprc")
}

// Read reads the OfflineIMAP config at path (DefaultConfigPath when empty)
// and the state it points to. A config OfflineIMAP itself would refuse is a
// *migrate.Error naming the file and line; a state that cannot be used for
// a folder is a note, and that folder is simply not adopted.
func Read(ctx context.Context, path string, opt Options) (*migrate.Result, error) {
	if path == "" {
		path = DefaultConfigPath()
	}
	if opt.Home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("offlineimap: home directory: %w", err)
		}
		opt.Home = h
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("offlineimap: %w", err)
	}
	f, err := parseINI(path, data)
	if err != nil {
		return nil, err
	}
	t := &translator{f: f, home: opt.Home, names: map[string]bool{}, checked: map[*iniSection]bool{}}
	if err := t.run(); err != nil {
		return nil, err
	}
	sortNotes(t.notes)
	res := &migrate.Result{Config: t.cfg, Notes: t.notes}
	for _, a := range t.accts {
		folders, notes, err := readState(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("offlineimap: account %s: %w", a.name, err)
		}
		res.Folders = append(res.Folders, folders...)
		res.Notes = append(res.Notes, notes...)
	}
	sort.SliceStable(res.Folders, func(i, j int) bool {
		if res.Folders[i].Channel != res.Folders[j].Channel {
			return res.Folders[i].Channel < res.Folders[j].Channel
		}
		return res.Folders[i].Name < res.Folders[j].Name
	})
	return res, nil
}
