package maildir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrChanged is returned (wrapped) by Scan when cur/ kept changing while it
// was being read, so that a consistent listing could not be taken.
var ErrChanged = errors.New("folder changed during scan")

// Folder is one Maildir folder (a directory with cur/, new/ and tmp/).
// Its methods may be called from several goroutines.
type Folder struct {
	store *Store
	path  string

	// DeferDirSync, when set, makes SetFlags, ToCur, Remove and MoveTo skip
	// their directory fsyncs (Deliver has DeliverOpts.NoDirSync). The caller
	// must call SyncDirs (on both folders, for MoveTo) before it records the
	// outcome anywhere durable. Set it before sharing the Folder.
	DeferDirSync bool

	mu    sync.Mutex
	dirty map[string]bool // sub-directories awaiting an fsync
	delta Listing         // what this value changed in new/ and cur/ (Changes)
}

// Path returns the folder's absolute directory.
func (f *Folder) Path() string { return f.path }

// Exists reports whether the folder's cur/ and new/ directories exist.
func (f *Folder) Exists() bool { return isMaildir(f.path) }

func (f *Folder) sub(name string) string { return filepath.Join(f.path, name) }

// dirChanged fsyncs dir now, or records it for SyncDirs when deferred.
func (f *Folder) dirChanged(dir string, deferred bool) error {
	if !deferred {
		return syncDir(dir)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirty == nil {
		f.dirty = map[string]bool{}
	}
	f.dirty[dir] = true
	return nil
}

// SyncDirs fsyncs the directories changed by operations whose directory
// fsync was deferred (DeliverOpts.NoDirSync, DeferDirSync).
func (f *Folder) SyncDirs() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for dir := range f.dirty {
		if err := syncDir(dir); err != nil {
			return fmt.Errorf("maildir: %w", err)
		}
		delete(f.dirty, dir)
	}
	return nil
}

// DirMTimes returns the modification times (UnixNano) of cur/ and new/, for
// cheap change detection. Read them before a Scan, not after.
func (f *Folder) DirMTimes() (cur, new int64, err error) {
	c, err := os.Stat(f.sub("cur"))
	if err != nil {
		return 0, 0, fmt.Errorf("maildir: %w", err)
	}
	n, err := os.Stat(f.sub("new"))
	if err != nil {
		return 0, 0, fmt.Errorf("maildir: %w", err)
	}
	return c.ModTime().UnixNano(), n.ModTime().UnixNano(), nil
}

// Scan lists the messages of new/ and cur/ by key, with size and mtime (one
// readdir per directory and one lstat per file). Nothing is moved or renamed.
// Unusable entries (hidden files, sub-directories, symbolic links, invalid
// info parts) are skipped and described in the warnings. If a key appears
// more than once, the file in cur/ wins over new/, then the smallest name;
// each dropped duplicate is warned about.
func (f *Folder) Scan() (map[string]Message, []string, error) {
	msgs, _, warns, err := f.scan(true)
	return msgs, warns, err
}

// ScanNames is Scan without the per-file lstat: Size and MTime stay zero.
func (f *Folder) ScanNames() (map[string]Message, []string, error) {
	msgs, _, warns, err := f.scan(false)
	return msgs, warns, err
}

// ScanListing is ScanNames that also returns the listing of what it read
// (every entry of new/ and cur/, as ReadListing).
func (f *Folder) ScanListing() (map[string]Message, Listing, []string, error) { return f.scan(false) }

func (f *Folder) scan(stat bool) (map[string]Message, Listing, []string, error) {
	return f.scanUnless(stat, nil)
}

// ScanUnless is ScanListing for a caller that knows the listing the folder
// had: when the names still match it, msgs is nil and nothing is parsed
// (one readdir per directory either way).
func (f *Folder) ScanUnless(saved Listing) (msgs map[string]Message, l Listing, warns []string, err error) {
	return f.scanUnless(false, &saved)
}

func (f *Folder) scanUnless(stat bool, unless *Listing) (map[string]Message, Listing, []string, error) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var msgs map[string]Message
		var warns []string
		var stable bool
		var l Listing
		msgs, l, warns, stable, err = f.scanOnce(stat, unless)
		if err != nil {
			return nil, Listing{}, nil, err
		}
		if stable {
			return msgs, l, warns, nil
		}
	}
	return nil, Listing{}, nil, fmt.Errorf("maildir: scan %s: %w", f.path, ErrChanged)
}

// scanOnce reads new/ before cur/: a message moved from new/ to cur/ in
// between is then seen twice (and de-duplicated) rather than not at all.
// Renames inside cur/ during the readdir could hide a file, so cur/'s mtime
// is compared before and after; stable is false if it changed or a file
// vanished before its lstat. With unless, a listing equal to it returns
// no messages.
func (f *Folder) scanOnce(stat bool, unless *Listing) (msgs map[string]Message, l Listing, warns []string, stable bool, err error) {
	stable = true
	var ents [2][]os.DirEntry
	for i, isNew := range []bool{true, false} {
		dir := f.sub(subdir(isNew))
		var before os.FileInfo
		if !isNew {
			if before, err = os.Stat(dir); err != nil {
				return nil, l, nil, false, fmt.Errorf("maildir: scan %s: %w", dir, err)
			}
		}
		if ents[i], err = readDirUnsorted(dir); err != nil {
			return nil, l, nil, false, fmt.Errorf("maildir: scan %s: %w", dir, err)
		}
		if !isNew {
			after, err := os.Stat(dir)
			if err != nil {
				return nil, l, nil, false, fmt.Errorf("maildir: scan %s: %w", dir, err)
			}
			if !after.ModTime().Equal(before.ModTime()) {
				stable = false
			}
		}
		for _, e := range ents[i] {
			l.Add(isNew, e.Name())
		}
	}
	if unless != nil && l == *unless {
		return nil, l, nil, stable, nil
	}
	msgs = make(map[string]Message, len(ents[0])+len(ents[1]))
	for i, isNew := range []bool{true, false} {
		dir := f.sub(subdir(isNew))
		for _, e := range ents[i] {
			name := e.Name()
			if !e.Type().IsRegular() {
				warns = append(warns, fmt.Sprintf("%s: not a regular file, skipped", filepath.Join(dir, name)))
				continue
			}
			key, flags, perr := parseName(name)
			if perr != nil {
				warns = append(warns, fmt.Sprintf("%s: %v, skipped", dir, perr))
				continue
			}
			m := Message{Key: key, Flags: flags, New: isNew, Name: name}
			if stat {
				fi, err := e.Info()
				if errors.Is(err, fs.ErrNotExist) {
					stable = false
					continue
				}
				if err != nil {
					return nil, l, nil, false, fmt.Errorf("maildir: scan %s: %w", dir, err)
				}
				m.Size, m.MTime = fi.Size(), fi.ModTime()
			}
			if old, dup := msgs[key]; dup {
				keep, drop := old, m
				if old.New && !m.New || old.New == m.New && m.Name < old.Name {
					keep, drop = m, old
				}
				msgs[key] = keep
				warns = append(warns, fmt.Sprintf("%s: duplicate key %q, ignoring %s/%s", f.path, key, subdir(drop.New), drop.Name))
				continue
			}
			msgs[key] = m
		}
	}
	sort.Strings(warns) // the directory order is arbitrary
	return msgs, l, warns, stable, nil
}

// readDirUnsorted is os.ReadDir without the sort by name (a scan keys
// its messages in a map: the order is of no use, and sorting 20,000
// names costs more than reading them).
func readDirUnsorted(dir string) ([]os.DirEntry, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// Lookup finds the message with the given key without a full scan: it reads
// new/ then cur/ in chunks, stops at the first match and lstats only that
// file. found is false if no file has that key.
func (f *Folder) Lookup(key string) (m Message, found bool, err error) {
	if key == "" || strings.ContainsAny(key, "/\x00") {
		return Message{}, false, fmt.Errorf("maildir: lookup: invalid key %q", key)
	}
	for attempt := 0; attempt < 3; attempt++ {
		m, found, retry, err := f.lookupOnce(key)
		if !retry {
			return m, found, err
		}
	}
	return Message{}, false, fmt.Errorf("maildir: lookup %q in %s: %w", key, f.path, ErrChanged)
}

// Probe looks for the message with key under the name it would have with
// flags (cur/<key>:2,<flags>, or new/<key> when flags is empty) without
// reading the directory: one lstat per candidate. found is false when the
// file is not there under that name (it may be under another: use Lookup
// or Scan).
func (f *Folder) Probe(key, flags string) (m Message, found bool) {
	if checkKey(key) != nil || checkFlags(flags) != nil {
		return Message{}, false
	}
	flags = NormalizeFlags(flags)
	cands := []Message{{Key: key, Flags: flags, Name: curName(key, flags, "")}}
	if flags == "" {
		cands = append([]Message{{Key: key, New: true, Name: key}}, cands...)
	}
	for _, c := range cands {
		if fi, err := os.Lstat(c.Path(f)); err == nil && fi.Mode().IsRegular() {
			return c, true
		}
	}
	return Message{}, false
}

// lookupOnce reads new/ before cur/, so that a concurrent move from new/ to
// cur/ cannot hide the file.
func (f *Folder) lookupOnce(key string) (m Message, found, retry bool, err error) {
	for _, isNew := range []bool{true, false} {
		dir := f.sub(subdir(isNew))
		name, err := findKey(dir, key)
		if err != nil {
			return Message{}, false, false, fmt.Errorf("maildir: lookup %q in %s: %w", key, dir, err)
		}
		if name == "" {
			continue
		}
		_, flags, _ := parseName(name)
		m := Message{Key: key, Flags: flags, New: isNew, Name: name}
		fi, err := os.Lstat(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return Message{}, false, true, nil // renamed meanwhile: look again
		}
		if err != nil {
			return Message{}, false, false, fmt.Errorf("maildir: lookup %q: %w", key, err)
		}
		m.Size, m.MTime = fi.Size(), fi.ModTime()
		return m, true, false, nil
	}
	return Message{}, false, false, nil
}

// findKey returns the name in dir whose key is key, or "".
func findKey(dir, key string) (string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return "", err
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(4096)
		for _, n := range names {
			if strings.HasPrefix(n, key) {
				if k, _, perr := parseName(n); perr == nil && k == key {
					return n, nil
				}
			}
		}
		if err == io.EOF {
			return "", nil
		}
		if err != nil {
			return "", err
		}
	}
}

// SetFlags renames m's file so that it carries flags (sorted and
// de-duplicated; ASCII letters only). A message in new/ moves to cur/ when
// flags is not empty (see ToCur to move it regardless). The key is kept.
// SetFlags is idempotent: if the file already has the target name, or m is
// stale but the target exists, it succeeds. If neither exists, the error
// satisfies errors.Is(err, fs.ErrNotExist).
func (f *Folder) SetFlags(m Message, flags string) (Message, error) {
	if err := checkFlags(flags); err != nil {
		return m, fmt.Errorf("maildir: set flags of %s: %w", m.Key, err)
	}
	flags = NormalizeFlags(flags)
	if m.New && flags == "" {
		return f.rename(m, Message{Key: m.Key, New: true, Name: m.Key}) // stays new
	}
	return f.rename(m, Message{Key: m.Key, Flags: flags, Name: curName(m.Key, flags, m.Name)})
}

// ToCur moves a message from new/ to cur/, keeping its flags (a message that
// is already in cur/ is returned as is).
func (f *Folder) ToCur(m Message) (Message, error) {
	if !m.New {
		return m, nil
	}
	return f.rename(m, Message{Key: m.Key, Flags: m.Flags, Name: curName(m.Key, m.Flags, m.Name)})
}

// rename moves m's file to the place described by to (Key, Flags, New,
// Name), keeping m's Size and MTime.
func (f *Folder) rename(m, to Message) (Message, error) {
	to.Size, to.MTime = m.Size, m.MTime
	src, dst := m.Path(f), to.Path(f)
	if src == dst {
		if _, err := os.Lstat(src); err != nil {
			return m, fmt.Errorf("maildir: %w", err)
		}
		return to, nil
	}
	if err := os.Rename(src, dst); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, serr := os.Lstat(dst); serr == nil {
				f.changed(func(d *Listing) { d.Remove(m.New, m.Name); d.Add(to.New, to.Name) })
				return to, nil // already done
			}
		}
		return m, fmt.Errorf("maildir: rename %s: %w", src, err)
	}
	f.changed(func(d *Listing) { d.Remove(m.New, m.Name); d.Add(to.New, to.Name) })
	if err := f.dirChanged(filepath.Dir(dst), f.DeferDirSync); err != nil {
		return to, fmt.Errorf("maildir: %w", err)
	}
	if m.New != to.New {
		if err := f.dirChanged(filepath.Dir(src), f.DeferDirSync); err != nil {
			return to, fmt.Errorf("maildir: %w", err)
		}
	}
	return to, nil
}

// Remove unlinks m's file and fsyncs its directory. A file that is already
// gone is not an error.
func (f *Folder) Remove(m Message) error {
	p := m.Path(f)
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			f.changed(func(d *Listing) { d.Remove(m.New, m.Name) })
			return nil
		}
		return fmt.Errorf("maildir: remove %s: %w", p, err)
	}
	f.changed(func(d *Listing) { d.Remove(m.New, m.Name) })
	if err := f.dirChanged(filepath.Dir(p), f.DeferDirSync); err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	return nil
}

// Open opens m's file for reading. If it was renamed since the scan (for
// example by a mail reader changing flags), the file is found by its key.
func (f *Folder) Open(m Message) (*os.File, error) {
	fd, err := os.Open(m.Path(f))
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return fd, err
	}
	cur, found, lerr := f.Lookup(m.Key)
	if lerr != nil || !found {
		return nil, err
	}
	return os.Open(cur.Path(f))
}

// MoveTo renames m's file into dst's cur/ with the same key and flags, and
// fsyncs both directories. Both folders must be on the same file system.
func (f *Folder) MoveTo(m Message, dst *Folder) (Message, error) {
	to := m
	to.New = false
	if m.New {
		to.Name = curName(m.Key, m.Flags, m.Name)
	}
	src, dp := m.Path(f), to.Path(dst)
	if err := os.Rename(src, dp); err != nil {
		return m, fmt.Errorf("maildir: move %s to %s: %w", src, dst.path, err)
	}
	f.changed(func(d *Listing) { d.Remove(m.New, m.Name) })
	dst.changed(func(d *Listing) { d.Add(to.New, to.Name) })
	if err := dst.dirChanged(filepath.Dir(dp), dst.DeferDirSync); err != nil {
		return to, fmt.Errorf("maildir: %w", err)
	}
	if err := f.dirChanged(filepath.Dir(src), f.DeferDirSync); err != nil {
		return to, fmt.Errorf("maildir: %w", err)
	}
	return to, nil
}

// TmpMaxAge: a file in tmp/ untouched for longer is a delivery that never
// finished (the Maildir convention); a program that delivers into a folder
// removes those with CleanTmp(TmpMaxAge).
const TmpMaxAge = 36 * time.Hour

// CleanTmp removes regular files from tmp/ that were last modified more than
// olderThan ago (failed or interrupted deliveries).
func (f *Folder) CleanTmp(olderThan time.Duration) error {
	dir := f.sub("tmp")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("maildir: clean %s: %w", dir, err)
	}
	limit := time.Now().Add(-olderThan)
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("maildir: clean %s: %w", dir, err)
		}
		if fi.ModTime().Before(limit) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("maildir: clean %s: %w", dir, err)
			}
		}
	}
	return nil
}
