package offlineimap

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/mdsync/mdsync/internal/mutf7"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	_ "modernc.org/sqlite"

	"github.com/mdsync/mdsync/internal/migrate"
)

// This file reads OfflineIMAP's sync state (verified against offlineimap3
// 8.0 and Dovecot; see the package's integration test):
//
//   - The local folders are the directories under localfolders that hold
//     cur, new and tmp. With sep = "/" they nest (Archive/2023/cur, and
//     INBOX/sub inside INBOX); with any other sep each folder is one
//     directory at the root, its levels joined by sep (Archive.2023,
//     INBOX.sub), found only at the top level. Names are the server's,
//     modified UTF-7 (Entw&APw-rfe) unless utf8foldernames or
//     decodefoldernames made them UTF-8.
//   - <metadata>/Account-<account>/LocalStatus-sqlite/<status name> is one
//     SQLite database per folder, table status(id INTEGER PRIMARY KEY = the
//     server UID, flags = the Maildir letters both sides last agreed on,
//     mtime, labels). The status name is the local folder name with sep and
//     "/" turned into "." (Archive.2023 for sep "/" and for sep "."), "dot"
//     for ".".
//   - <metadata>/Repository-<remote repository>/FolderValidity/<name> holds
//     the server's UIDVALIDITY as a decimal line. The name is the server's
//     folder name with "/" turned into ".", i.e. the status name (still
//     modified UTF-7 when decodefoldernames made the local names UTF-8).
//     Only folders OfflineIMAP has synced have one.
//   - A message file is <time>_<n>.<pid>.<host>,U=<server UID>,FMD5=<md5 hex
//     of the local folder name>:2,<flags> (":" is "!" with
//     maildir-windows-compatible). OfflineIMAP ignores the U= of a file
//     whose FMD5 is another folder's (the mail client moved it here) and
//     uploads it as a new message; the import leaves such files unpaired. A
//     file without FMD5 (older OfflineIMAP) is paired by its U=.
//
// A pair is adopted for each status row whose server UID is carried by a
// local file of that folder; its flags are the status row's (the last agreed
// ones), reduced to D F P R S T.

// uidRe finds the server UID in a file name, as OfflineIMAP's re_uidmatch.
var uidRe = regexp.MustCompile(`,U=(\d+)`)

// readState reads the state of one account.
func readState(ctx context.Context, a *account) ([]migrate.Folder, []migrate.Note, error) {
	var notes []migrate.Note
	note := func(file, format string, args ...any) {
		notes = append(notes, migrate.Note{File: file, Text: fmt.Sprintf(format, args...)})
	}
	statusDir := filepath.Join(a.metadata, "Account-"+a.name, "LocalStatus-sqlite")
	fvDir := filepath.Join(a.metadata, "Repository-"+a.remoteRepo, "FolderValidity")
	if _, err := os.Stat(statusDir); errors.Is(err, fs.ErrNotExist) {
		note(statusDir, "no OfflineIMAP state for account %s (never synced?): nothing adopted; mdsync's first run matches messages present on both sides by Message-ID", a.name)
		return nil, notes, nil
	} else if err != nil {
		return nil, nil, err
	}
	if !a.adopt {
		note(statusDir, "the OfflineIMAP state of account %s is not adopted (see the nametrans note); mdsync's first run matches messages present on both sides by Message-ID", a.name)
		return nil, notes, nil
	}
	if running(filepath.Join(a.metadata, a.name+".lock")) {
		note(filepath.Join(a.metadata, a.name+".lock"), "OfflineIMAP seems to be syncing account %s right now: the state read may be incomplete; import again once it has finished", a.name)
	}
	locals, err := localFolders(a.localRoot, a.sep)
	if err != nil {
		return nil, nil, err
	}
	byStatus := map[string][]string{}
	for _, l := range locals {
		s := statusName(l, a.sep)
		byStatus[s] = append(byStatus[s], l)
	}

	var folders []migrate.Folder
	statusNames, err := statusFiles(statusDir)
	if err != nil {
		return nil, nil, err
	}
	for _, sn := range statusNames {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		dbPath := filepath.Join(statusDir, sn)
		ls := byStatus[sn]
		switch {
		case len(ls) == 0:
			note(dbPath, "the status of %q has no local folder (removed or renamed since OfflineIMAP's last run?): not adopted", sn)
			continue
		case len(ls) > 1:
			note(dbPath, "local folders %s share this one OfflineIMAP status: not adopted", strings.Join(quoteAll(ls), " and "))
			continue
		}
		local := ls[0]
		name := strings.Join(strings.Split(local, a.sep), "/")
		if !a.utf8Names {
			d, err := mutf7.Decode(name)
			if err != nil {
				note(dbPath, "local folder %q is not valid modified UTF-7: used as written", local)
			} else {
				name = d
			}
		}
		if a.filter != nil && !a.filter.match(name) {
			continue // filtered out: OfflineIMAP does not sync it any more
		}
		fvName := sn
		if a.fvMUTF7 {
			fvName, _ = mutf7.Encode(sn)
		}
		fvPath := filepath.Join(fvDir, fvName)
		uv, err := readValidity(fvPath)
		if errors.Is(err, fs.ErrNotExist) {
			if a.sep != "/" && strings.Contains(local, a.sep) {
				note(dbPath, "OfflineIMAP never synced folder %q (no %s): with sep = %q it skips every server folder whose name contains %q; exclude such folders in folders = [...]", local, fvPath, a.sep, a.sep)
			} else {
				note(dbPath, "OfflineIMAP never completed a sync of folder %q (no %s): not adopted", local, fvPath)
			}
			continue
		} else if err != nil {
			note(fvPath, "%v: folder %q not adopted", err, local)
			continue
		}
		rows, err := readStatus(ctx, dbPath)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			note(dbPath, "cannot read this OfflineIMAP status (%v): folder %q not adopted", err, local)
			continue
		}
		files, err := scanFiles(filepath.Join(a.localRoot, filepath.FromSlash(local)), local, a.infosep)
		if err != nil {
			return nil, nil, err
		}
		f := migrate.Folder{Channel: a.channel, Name: name, UIDValidity: uv, Pairs: []migrate.Pair{}}
		missing := 0
		for _, r := range rows {
			key, ok := files.byUID[r.uid]
			if !ok {
				missing++
				continue
			}
			f.Pairs = append(f.Pairs, migrate.Pair{UID: r.uid, Key: key, Flags: r.flags})
		}
		sort.Slice(f.Pairs, func(i, j int) bool { return f.Pairs[i].UID < f.Pairs[j].UID })
		dir := filepath.Join(a.localRoot, filepath.FromSlash(local))
		if missing > 0 {
			note(dbPath, "folder %q: %d message(s) OfflineIMAP knew have no local file any more (deleted locally since its last run?): not adopted, so mdsync's first run downloads them again; run offlineimap once more before the import to propagate those deletions", name, missing)
		}
		if files.foreign > 0 {
			note(dir, "folder %q: %d file(s) carry another folder's FMD5 (moved here by a mail client): left unpaired, mdsync uploads them as new messages (OfflineIMAP would have too)", name, files.foreign)
		}
		if files.dups > 0 {
			note(dir, "folder %q: %d file(s) carry the server UID of another file in this folder: left unpaired, mdsync uploads them as new messages", name, files.dups)
		}
		folders = append(folders, f)
	}
	return folders, notes, nil
}

// localFolders lists the local folders as OfflineIMAP's
// _getfolders_scandir does: directories (symlinks followed) holding cur, new
// and tmp, recursing only with sep = "/". Names use "/" between directory
// levels; the root itself is not a folder here.
func localFolders(root, sep string) ([]string, error) {
	var out []string
	var scan func(rel string) error
	scan = func(rel string) error {
		entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			if rel == "" && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		for _, e := range entries {
			n := e.Name()
			if n == "cur" || n == "new" || n == "tmp" {
				continue
			}
			name := n
			if rel != "" {
				name = rel + "/" + n
			}
			full := filepath.Join(root, filepath.FromSlash(name))
			if !isDir(full) {
				continue
			}
			if isDir(filepath.Join(full, "cur")) && isDir(filepath.Join(full, "new")) && isDir(filepath.Join(full, "tmp")) {
				out = append(out, name)
			}
			if sep == "/" {
				if err := scan(name); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := scan(""); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// statusName is the LocalStatus (and FolderValidity) file name of a local
// folder: its levels joined by "." (BaseFolder.getfolderbasename).
func statusName(local, sep string) string {
	n := strings.ReplaceAll(local, sep, ".")
	n = strings.ReplaceAll(n, "/", ".")
	if n == "." {
		n = "dot"
	}
	return n
}

// statusFiles lists the status databases (not SQLite's -journal, -wal and
// -shm companions).
func statusFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasSuffix(n, "-journal") || strings.HasSuffix(n, "-wal") || strings.HasSuffix(n, "-shm") {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// readValidity reads a FolderValidity file: the first line, a decimal
// UIDVALIDITY.
func readValidity(path string) (uint32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	v, err := strconv.ParseUint(strings.TrimSpace(line), 10, 32)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("%s does not hold a UIDVALIDITY (%q)", path, firstN(strings.TrimSpace(line), 20))
	}
	return uint32(v), nil
}

type statusRow struct {
	uid   uint32
	flags string
}

// readStatus reads a LocalStatus database read-only.
func readStatus(ctx context.Context, path string) ([]statusRow, error) {
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT id, flags FROM status")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []statusRow
	for rows.Next() {
		var id int64
		var flags sql.NullString
		if err := rows.Scan(&id, &flags); err != nil {
			return nil, err
		}
		if id <= 0 || id > math.MaxUint32 {
			continue // OfflineIMAP stores only real server UIDs
		}
		out = append(out, statusRow{uid: uint32(id), flags: maildirFlags(flags.String)})
	}
	return out, rows.Err()
}

// maildirFlags keeps the letters mdsync syncs, sorted.
func maildirFlags(s string) string {
	var b []byte
	for _, c := range "DFPRST" {
		if strings.ContainsRune(s, c) {
			b = append(b, byte(c))
		}
	}
	return string(b)
}

// folderFiles is what the files of one local folder say.
type folderFiles struct {
	byUID   map[uint32]string // server UID -> Maildir key
	foreign int               // files with another folder's FMD5
	dups    int               // files whose UID another file already has
}

// scanFiles reads the names in dir's cur and new. local is the folder's
// name as OfflineIMAP knows it (its FMD5 is the MD5 of that name).
func scanFiles(dir, local, infosep string) (folderFiles, error) {
	sum := md5.Sum([]byte(local))
	own := ",FMD5=" + hex.EncodeToString(sum[:])
	res := folderFiles{byUID: map[uint32]string{}}
	for _, sub := range []string{"cur", "new"} { // cur wins, as in OfflineIMAP
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return res, err
		}
		for _, e := range entries {
			n := e.Name()
			if strings.HasPrefix(n, ".") || e.IsDir() {
				continue
			}
			if strings.Contains(n, ",FMD5=") && !strings.Contains(n, own) {
				res.foreign++
				continue
			}
			m := uidRe.FindStringSubmatch(n)
			if m == nil {
				continue // a new local message
			}
			uid, err := strconv.ParseUint(m[1], 10, 32)
			if err != nil || uid == 0 {
				continue
			}
			key := n
			if i := strings.Index(n, infosep+"2,"); i >= 0 {
				key = n[:i]
			}
			if _, dup := res.byUID[uint32(uid)]; dup {
				res.dups++
				continue
			}
			res.byUID[uint32(uid)] = key
		}
	}
	return res, nil
}

func quoteAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strconv.Quote(s)
	}
	return out
}
