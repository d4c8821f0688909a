// Package maildir is mdsync's local Maildir store: it maps IMAP folder names
// to directories, scans folders without touching the files, and delivers,
// renames, moves and removes messages durably (file and directory fsyncs).
package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Layout is the way folders are laid out on disk below the root.
type Layout int

const (
	// Verbatim nests folders as directories: "Archive/2023" is
	// root/Archive/2023/{cur,new,tmp}, and INBOX is root/INBOX.
	Verbatim Layout = iota
	// MaildirPP is the Maildir++ layout: INBOX is the root itself and
	// "Archive/2023" is root/.Archive.2023.
	MaildirPP
	// Flat puts every folder in one directory at the root, its levels
	// joined by '.': "Archive/2023" is root/Archive.2023 and INBOX is
	// root/INBOX (OfflineIMAP's default, sep = ".").
	Flat
)

// Names is how a store spells non-ASCII folder names on disk.
type Names int

const (
	// UTF8 spells them as they are ("Entwürfe").
	UTF8 Names = iota
	// MUTF7 spells them in IMAP modified UTF-7 ("Entw&APw-rfe"), as
	// mbsync 1.4 and OfflineIMAP do.
	MUTF7
)

// Options are a store's settings.
type Options struct {
	Layout Layout
	Names  Names
	// NoCreate leaves a missing root missing (a dry run writes nothing):
	// the store then lists no folder.
	NoCreate bool
}

// String returns "verbatim" or "maildir++".
func (l Layout) String() string {
	switch l {
	case Verbatim:
		return "verbatim"
	case MaildirPP:
		return "maildir++"
	case Flat:
		return "flat"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// Store is a tree of Maildir folders below one root directory.
type Store struct {
	root     string // absolute and clean
	layout   Layout
	naming   naming
	hostname string // escaped, for generated keys
}

// OpenWith opens the store at root, creating the root directory (mode 0700)
// if it is missing.
func OpenWith(root string, o Options) (*Store, error) {
	layout := o.Layout
	if layout != Verbatim && layout != MaildirPP && layout != Flat {
		return nil, fmt.Errorf("maildir: unknown layout %d", layout)
	}
	if o.Names != UTF8 && o.Names != MUTF7 {
		return nil, fmt.Errorf("maildir: unknown names %d", o.Names)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("maildir: open %s: %w", root, err)
	}
	if o.NoCreate {
		if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
			return &Store{root: abs, layout: layout, naming: naming{layout: layout, mutf7: o.Names == MUTF7}, hostname: escapedHostname()}, nil
		}
	} else if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("maildir: open %s: %w", abs, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("maildir: open %s: %w", abs, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("maildir: open %s: not a directory", abs)
	}
	return &Store{root: abs, layout: layout, naming: naming{layout: layout, mutf7: o.Names == MUTF7}, hostname: escapedHostname()}, nil
}

// Root returns the absolute, clean root directory.
func (s *Store) Root() string { return s.root }

// Layout returns the store's folder layout.
func (s *Store) Layout() Layout { return s.layout }

// NameToPath maps an IMAP folder name (UTF-8, already decoded from modified
// UTF-7; levels separated by delim, 0 meaning a flat namespace) to an absolute
// directory. The result is always Root or below it; an existing component
// that is a symbolic link is refused, so the path cannot escape the root.
// INBOX is matched case-insensitively at the first level.
func (s *Store) NameToPath(name string, delim rune) (string, error) {
	rel, err := s.naming.relPath(name, delim)
	if err != nil {
		return "", fmt.Errorf("maildir: %w", err)
	}
	if err := s.checkNoSymlink(rel); err != nil {
		return "", err
	}
	return filepath.Join(s.root, rel), nil
}

// checkNoSymlink refuses a relative path any existing component of which is
// a symbolic link. It stops at the first component that does not exist.
func (s *Store) checkNoSymlink(rel string) error {
	if rel == "." {
		return nil
	}
	p := s.root
	for _, c := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("maildir: %w", err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("maildir: %s is a symbolic link", p)
		}
		if !fi.IsDir() {
			return fmt.Errorf("maildir: %s is not a directory", p)
		}
	}
	return nil
}

// PathToName is the exact inverse of NameToPath. path is relative to the
// root or absolute inside it, and must be clean. Paths that NameToPath would
// not produce (non-canonical escapes, "cur" levels, dot files, ...) are
// rejected.
func (s *Store) PathToName(path string, delim rune) (string, error) {
	if path == "" || filepath.Clean(path) != path {
		return "", fmt.Errorf("maildir: %q is not a clean path", path)
	}
	rel := path
	if filepath.IsAbs(path) {
		var err error
		if rel, err = filepath.Rel(s.root, path); err != nil {
			return "", fmt.Errorf("maildir: %w", err)
		}
	}
	if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("maildir: %q is outside %s", path, s.root)
	}
	name, err := s.naming.relName(rel, delim)
	if err != nil {
		return "", fmt.Errorf("maildir: %w", err)
	}
	return name, nil
}

// isMaildir reports whether dir has real (non-symlink) cur/ and new/
// sub-directories.
func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		fi, err := os.Lstat(filepath.Join(dir, sub))
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// Folders lists, sorted, the names (levels joined with delim) of the folders
// present on disk: directories with cur/ and new/ whose path is the exact
// image of a name. Other directories and symbolic links are skipped and never
// followed.
func (s *Store) Folders(delim rune) ([]string, error) {
	names, _, err := s.folders(delim)
	return names, err
}

// Unmapped lists, sorted and relative to the root, the Maildir folders on
// disk that are no folder name with this delimiter: a "Notes.old" where the
// server separates levels with '.'. Folders leaves them out; a caller must
// say so rather than let their mail sit unsynced.
func (s *Store) Unmapped(delim rune) ([]string, error) {
	_, un, err := s.folders(delim)
	return un, err
}

// HasFolder reports whether any Maildir folder is below the root (or is
// the root, in the Maildir++ layout), stopping at the first: whether a tree
// is there at all, without listing it.
func (s *Store) HasFolder() bool {
	if isMaildir(s.root) && s.layout == MaildirPP {
		return true
	}
	var walk func(dir string, depth int) bool
	walk = func(dir string, depth int) bool {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return false
		}
		for _, e := range ents {
			if !e.IsDir() || e.Name() == "cur" || e.Name() == "new" || e.Name() == "tmp" {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if isMaildir(p) || (s.layout == Verbatim && depth < 16 && walk(p, depth+1)) {
				return true
			}
		}
		return false
	}
	return walk(s.root, 0)
}

// List is Folders and Unmapped in one walk.
func (s *Store) List(delim rune) (names, unmapped []string, err error) { return s.folders(delim) }

func (s *Store) folders(delim rune) (names, unmapped []string, err error) {
	if _, err := os.Stat(s.root); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil // a root a dry run did not create holds nothing
	}
	add := func(rel string) {
		if !isMaildir(filepath.Join(s.root, rel)) {
			return
		}
		if name, err := s.PathToName(rel, delim); err == nil {
			names = append(names, name)
		} else if rel != "." {
			unmapped = append(unmapped, rel)
		}
	}
	switch s.layout {
	case Flat:
		ents, err := os.ReadDir(s.root)
		if err != nil {
			return nil, nil, fmt.Errorf("maildir: list folders in %s: %w", s.root, err)
		}
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				add(e.Name())
			}
		}
	case MaildirPP:
		add(".")
		ents, err := os.ReadDir(s.root)
		if err != nil {
			return nil, nil, fmt.Errorf("maildir: list folders in %s: %w", s.root, err)
		}
		for _, e := range ents {
			if e.IsDir() && strings.HasPrefix(e.Name(), ".") {
				add(e.Name())
			}
		}
	case Verbatim:
		var walk func(rel string) error
		walk = func(rel string) error {
			ents, err := os.ReadDir(filepath.Join(s.root, rel))
			if err != nil {
				return fmt.Errorf("maildir: list folders in %s: %w", filepath.Join(s.root, rel), err)
			}
			for _, e := range ents {
				if !e.IsDir() { // symlinks are not dirs here: never followed
					continue
				}
				sub := filepath.Join(rel, e.Name())
				// A component that does not decode (cur/new/tmp, dot
				// files, ...) cannot lead to a folder: skip its subtree.
				// (One that decodes to a level holding the server's
				// delimiter is unmapped, not skipped.)
				if e.Name() != "INBOX" {
					if _, err := s.naming.unlevel(e.Name()); err != nil {
						continue
					}
				}
				add(sub)
				if err := walk(sub); err != nil {
					return err
				}
			}
			return nil
		}
		if err := walk("."); err != nil {
			return nil, nil, err
		}
	}
	sort.Strings(names)
	sort.Strings(unmapped)
	return names, unmapped, nil
}

// Folder returns the folder with the given name, whether it exists or not.
// It creates nothing.
func (s *Store) Folder(name string, delim rune) (*Folder, error) {
	p, err := s.NameToPath(name, delim)
	if err != nil {
		return nil, err
	}
	return &Folder{store: s, path: p}, nil
}

// RenameFolder moves folder from to the name to (the server renamed it),
// creating the missing parents, and fsyncs the directories that changed.
// Sub-folders move with it in the verbatim layout. A folder already at its
// new place (moved with its parent) is left there.
func (s *Store) RenameFolder(from, to string, delim rune) error {
	src, err := s.NameToPath(from, delim)
	if err != nil {
		return err
	}
	dst, err := s.NameToPath(to, delim)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			return nil // moved with its parent
		}
		return fmt.Errorf("maildir: rename %q to %q: %s exists", from, to, dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("maildir: rename %q to %q: %w", from, to, err)
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("maildir: rename %q to %q: %w", from, to, err)
	}
	for _, d := range []string{filepath.Dir(src), filepath.Dir(dst)} {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// CreateFolder returns the named folder, creating its directory, the missing
// parents and cur/, new/ and tmp/ (mode 0700) as needed, and fsyncing every
// directory that got a new entry. In the Maildir++ layout, sub-folders also
// get the conventional empty "maildirfolder" file.
func (s *Store) CreateFolder(name string, delim rune) (*Folder, error) {
	f, err := s.Folder(name, delim)
	if err != nil {
		return nil, err
	}
	rel, _ := filepath.Rel(s.root, f.path)
	var dirty []string
	mkdir := func(parent, c string) error {
		p := filepath.Join(parent, c)
		err := os.Mkdir(p, 0o700)
		if err == nil {
			dirty = append(dirty, parent)
			return nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !fi.IsDir() { // includes symbolic links
			return fmt.Errorf("%s exists and is not a directory", p)
		}
		return nil
	}
	fail := func(err error) (*Folder, error) {
		return nil, fmt.Errorf("maildir: create folder %q in %s: %w", name, s.root, err)
	}
	p := s.root
	if rel != "." {
		for _, c := range strings.Split(rel, string(filepath.Separator)) {
			if err := mkdir(p, c); err != nil {
				return fail(err)
			}
			p = filepath.Join(p, c)
		}
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := mkdir(f.path, sub); err != nil {
			return fail(err)
		}
	}
	if s.layout == MaildirPP && rel != "." {
		mf := filepath.Join(f.path, "maildirfolder")
		if fd, err := os.OpenFile(mf, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
			fd.Close()
			dirty = append(dirty, f.path)
		} else if !errors.Is(err, fs.ErrExist) {
			return fail(err)
		}
	}
	seen := map[string]bool{}
	for i := len(dirty) - 1; i >= 0; i-- { // deepest first
		if d := dirty[i]; !seen[d] {
			seen[d] = true
			if err := syncDir(d); err != nil {
				return fail(err)
			}
		}
	}
	return f, nil
}

// syncDir fsyncs a directory so that renames and creations in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
