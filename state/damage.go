package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
)

// SQLite's primary result codes for a damaged file.
const (
	sqliteCorrupt = 11 // SQLITE_CORRUPT: "database disk image is malformed"
	sqliteNotADB  = 26 // SQLITE_NOTADB: "file is not a database"
)

// IsDamaged reports whether err says the database file is damaged (as
// opposed to busy, full or unreadable): such a file does not mend itself,
// and the state it held can be rebuilt by matching both sides by content.
func IsDamaged(err error) bool { return Damage(err) != "" }

// Damage is what SQLite says is wrong with a damaged database file ("file
// is not a database", "database disk image is malformed"), or "" when err
// does not say the file is damaged. It reads SQLite's result code, and the
// same words in the text of an error that lost its type on the way (one
// formatted with %v).
func Damage(err error) string {
	const notADB, malformed = "file is not a database", "database disk image is malformed"
	var se *sqlite.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &se):
		switch se.Code() & 0xff {
		case sqliteNotADB:
			return notADB
		case sqliteCorrupt:
			return malformed
		}
		return ""
	case strings.Contains(err.Error(), notADB):
		return notADB
	case strings.Contains(err.Error(), malformed):
		return malformed
	}
	return ""
}

// SetAside moves the closed database of dir (with its -wal and -shm files)
// out of the way, to state.db.damaged-TIME, and returns the new name. It
// deletes nothing: the damaged file stays for whoever wants to look at it.
func SetAside(dir string, now time.Time) (string, error) {
	base := filepath.Join(dir, FileName)
	to := base + ".damaged-" + now.UTC().Format("20060102T150405Z")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		err := os.Rename(base+suffix, to+suffix)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("set the damaged state aside: %w", err)
		}
	}
	return to, nil
}
