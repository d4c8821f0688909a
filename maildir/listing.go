package maildir

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// Listing is an order-independent digest of the entry names of a folder's
// new/ and cur/: two listings are equal when the directories hold the same
// names (so the same messages with the same flags). It is kept up to date
// incrementally: Add and Remove one name at a time, and Plus to apply the
// changes a Folder made (Folder.Changes). A caller that saved the listing
// it left behind can later tell, with one readdir per directory and no
// parsing, that nobody touched the folder since — although its directory
// mtimes changed, by its own renames.
//
// The zero Listing is that of an empty folder.
type Listing struct {
	n    uint64
	a, b uint64
}

func entryHash(isNew bool, name string) (uint64, uint64) {
	var buf [256]byte
	b := append(append(buf[:0], subdir(isNew)...), '/')
	sum := sha256.Sum256(append(b, name...))
	return binary.LittleEndian.Uint64(sum[0:8]), binary.LittleEndian.Uint64(sum[8:16])
}

// Add records an entry named name in new/ (isNew) or cur/.
func (l *Listing) Add(isNew bool, name string) {
	a, b := entryHash(isNew, name)
	l.n++
	l.a += a
	l.b += b
}

// Remove records that an entry is gone.
func (l *Listing) Remove(isNew bool, name string) {
	a, b := entryHash(isNew, name)
	l.n--
	l.a -= a
	l.b -= b
}

// Plus returns l with the changes d applied.
func (l Listing) Plus(d Listing) Listing {
	return Listing{n: l.n + d.n, a: l.a + d.a, b: l.b + d.b}
}

// String encodes the listing for storage (ParseListing reads it back).
func (l Listing) String() string {
	var buf [24]byte
	binary.BigEndian.PutUint64(buf[0:], l.n)
	binary.BigEndian.PutUint64(buf[8:], l.a)
	binary.BigEndian.PutUint64(buf[16:], l.b)
	return hex.EncodeToString(buf[:])
}

// ParseListing decodes a String.
func ParseListing(s string) (Listing, error) {
	buf, err := hex.DecodeString(s)
	if err != nil || len(buf) != 24 {
		return Listing{}, fmt.Errorf("maildir: invalid listing %q", s)
	}
	return Listing{n: binary.BigEndian.Uint64(buf[0:]), a: binary.BigEndian.Uint64(buf[8:]), b: binary.BigEndian.Uint64(buf[16:])}, nil
}

// ReadListing reads the listing of new/ and cur/ (names only: no stat, no
// parsing). Every entry counts, including ones a scan skips.
func (f *Folder) ReadListing() (Listing, error) {
	var l Listing
	for _, isNew := range []bool{true, false} {
		dir := f.sub(subdir(isNew))
		d, err := os.Open(dir)
		if err != nil {
			return Listing{}, fmt.Errorf("maildir: list %s: %w", dir, err)
		}
		for {
			names, err := d.Readdirnames(1024)
			for _, n := range names {
				l.Add(isNew, n)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				d.Close()
				return Listing{}, fmt.Errorf("maildir: list %s: %w", dir, err)
			}
		}
		d.Close()
	}
	return l, nil
}

// Changes returns what this Folder value changed in the listing since it
// was made: its deliveries, renames and removals. A caller that knows the
// listing before (ReadListing, ScanListing) gets the one after with Plus.
func (f *Folder) Changes() Listing {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delta
}

func (f *Folder) changed(fn func(d *Listing)) {
	f.mu.Lock()
	fn(&f.delta)
	f.mu.Unlock()
}
