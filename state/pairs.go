package state

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Pair links a server message (UID) and a local one (Maildir key) of a
// folder. UID 0 or Key "" marks a side where the user deleted the message
// and the deletion is not propagated (a tombstone).
type Pair struct {
	UID         uint32
	Key         string
	Flags       string // Maildir letters both sides agreed on at the last sync
	Size        int64  // size on the server (CRLF)
	Fingerprint string
	MessageID   string
}

// Pairs loads every pair of a folder.
func (d *DB) Pairs(ctx context.Context, folderID int64) ([]Pair, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT uid, key, flags, size, fingerprint, message_id FROM pair WHERE folder_id = ?`, folderID)
	if err != nil {
		return nil, fmt.Errorf("load pairs: %w", err)
	}
	defer rows.Close()
	var out []Pair
	for rows.Next() {
		var p Pair
		if err := rows.Scan(&p.UID, &p.Key, &p.Flags, &p.Size, &p.Fingerprint, &p.MessageID); err != nil {
			return nil, fmt.Errorf("load pairs: %w", err)
		}
		out = append(out, p)
	}
	sortPairs(out)
	return out, rows.Err()
}

// PairsBrief loads every pair of a folder with its UID, key and flags only
// (what a plan needs; Size, Fingerprint and MessageID stay empty). They
// come as one string, each pair "uid len(flags) len(key) flags key" (byte
// lengths, so any key parses back): a row per pair costs three times as
// much in the driver (BenchmarkPairsLoad).
func (d *DB) PairsBrief(ctx context.Context, folderID int64) ([]Pair, error) {
	var all sql.NullString
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*), group_concat(uid || ' ' || length(CAST(flags AS BLOB)) || ' ' || length(CAST(key AS BLOB)) || ' ' || flags || key, '') FROM pair WHERE folder_id = ?`, folderID).Scan(&n, &all)
	if err != nil {
		return nil, fmt.Errorf("load pairs: %w", err)
	}
	out := make([]Pair, 0, n)
	s := all.String
	for s != "" {
		uid, s1, ok1 := parseNum(s)
		nf, s2, ok2 := parseNum(s1)
		nk, s3, ok3 := parseNum(s2)
		if !ok1 || !ok2 || !ok3 || uid > math.MaxUint32 || nf+nk > uint64(len(s3)) {
			return nil, fmt.Errorf("load pairs: malformed pair list of folder %d", folderID)
		}
		out = append(out, Pair{UID: uint32(uid), Flags: s3[:nf], Key: s3[nf : nf+nk]})
		s = s3[nf+nk:]
	}
	if len(out) != n {
		return nil, fmt.Errorf("load pairs: %d pairs parsed of folder %d's %d", len(out), folderID, n)
	}
	sortPairs(out)
	return out, nil
}

// parseNum reads a decimal number of at most 10 digits (a UID, a length)
// and the space after it.
func parseNum(s string) (uint64, string, bool) {
	var v uint64
	i := 0
	for ; i < len(s) && i <= 10 && s[i] >= '0' && s[i] <= '9'; i++ {
		v = v*10 + uint64(s[i]-'0')
	}
	if i == 0 || i > 10 || i >= len(s) || s[i] != ' ' {
		return 0, s, false
	}
	return v, s[i+1:], true
}

// sortPairs orders pairs by UID then key (cheaper here than in SQLite).
func sortPairs(ps []Pair) {
	slices.SortFunc(ps, func(a, b Pair) int {
		if c := cmp.Compare(a.UID, b.UID); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// PairsOfUIDs loads the pairs of some UIDs of a folder: a run that learnt
// from CONDSTORE which messages changed on the server need not load the
// others.
func (d *DB) PairsOfUIDs(ctx context.Context, folderID int64, uids []uint32) ([]Pair, error) {
	var out []Pair
	for len(uids) > 0 {
		n := min(len(uids), 500)
		args := []interface{}{folderID}
		q := strings.Repeat(",?", n)[1:]
		for _, u := range uids[:n] {
			args = append(args, u)
		}
		uids = uids[n:]
		rows, err := d.db.QueryContext(ctx, `SELECT uid, key, flags, size, fingerprint, message_id FROM pair WHERE folder_id = ? AND uid > 0 AND uid IN (`+q+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("load pairs: %w", err)
		}
		for rows.Next() {
			var p Pair
			if err := rows.Scan(&p.UID, &p.Key, &p.Flags, &p.Size, &p.Fingerprint, &p.MessageID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("load pairs: %w", err)
			}
			out = append(out, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("load pairs: %w", err)
		}
	}
	return out, nil
}

// CountServerPairs counts the pairs of a folder that have a UID.
func (d *DB) CountServerPairs(ctx context.Context, folderID int64) (n int, err error) {
	err = d.db.QueryRowContext(ctx, `SELECT count(*) FROM pair WHERE folder_id = ? AND uid > 0`, folderID).Scan(&n)
	return
}

// PutPair inserts or replaces the pair of a folder; any older pair with the
// same UID or key is replaced.
func (t *Tx) PutPair(folderID int64, p Pair) error {
	if p.UID > 0 {
		// "uid > 0" lets SQLite use the partial index pair_uid
		if _, err := t.exec(`DELETE FROM pair WHERE folder_id = ? AND uid = ? AND uid > 0`, folderID, p.UID); err != nil {
			return fmt.Errorf("put pair uid %d: %w", p.UID, err)
		}
	}
	if p.Key != "" {
		if _, err := t.exec(`DELETE FROM pair WHERE folder_id = ? AND key = ? AND key <> ''`, folderID, p.Key); err != nil {
			return fmt.Errorf("put pair %s: %w", p.Key, err)
		}
	}
	_, err := t.exec(`INSERT INTO pair(folder_id, uid, key, flags, size, fingerprint, message_id) VALUES(?,?,?,?,?,?,?)`,
		folderID, p.UID, p.Key, p.Flags, p.Size, p.Fingerprint, p.MessageID)
	if err != nil {
		return fmt.Errorf("put pair uid %d key %s: %w", p.UID, p.Key, err)
	}
	return nil
}

// DeletePair removes the pair with that UID (uid > 0) or else that key.
func (t *Tx) DeletePair(folderID int64, uid uint32, key string) error {
	var err error
	if uid > 0 {
		_, err = t.exec(`DELETE FROM pair WHERE folder_id = ? AND uid = ? AND uid > 0`, folderID, uid)
	} else {
		_, err = t.exec(`DELETE FROM pair WHERE folder_id = ? AND key = ? AND key <> '' AND uid = 0`, folderID, key)
	}
	if err != nil {
		return fmt.Errorf("delete pair uid %d key %s: %w", uid, key, err)
	}
	return nil
}

// DeleteKeyPairs forgets the pair of a local key, whatever its UID (a
// file that moved to another folder).
func (t *Tx) DeleteKeyPairs(folderID int64, key string) error {
	if _, err := t.exec(`DELETE FROM pair WHERE folder_id = ? AND key = ? AND key <> ''`, folderID, key); err != nil {
		return fmt.Errorf("delete pair of key %s: %w", key, err)
	}
	return nil
}

// DeleteAllPairs forgets every pair of a folder (after a UIDVALIDITY change
// the caller re-links them).
func (t *Tx) DeleteAllPairs(folderID int64) error {
	if _, err := t.exec(`DELETE FROM pair WHERE folder_id = ?`, folderID); err != nil {
		return fmt.Errorf("reset pairs: %w", err)
	}
	return nil
}

// SetPairFlags updates the flags of the pair (uid, key) in place; false
// if there is no such pair (then PutPair).
func (t *Tx) SetPairFlags(folderID int64, uid uint32, key, flags string) (bool, error) {
	r, err := t.exec(`UPDATE pair SET flags = ? WHERE folder_id = ? AND uid = ? AND uid > 0 AND key = ?`, flags, folderID, uid, key)
	if err != nil {
		return false, fmt.Errorf("set pair flags uid %d: %w", uid, err)
	}
	n, err := r.RowsAffected()
	return n == 1, err
}
