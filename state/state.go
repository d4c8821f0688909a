// Package state keeps mdsync's memory between runs in one SQLite file:
// the folders of each channel with the numbers last seen on the server,
// one row per message known on both sides (the base of the three-way
// flag merge), the UIDLs fetched from POP accounts, the journal of actions
// under way, and the outcome of each run for `mdsync status`.
//
// Every commit survives a crash of the process. BeginDurable commits also
// survive power loss (WAL with synchronous=FULL); Begin commits may lose the
// last few to a power loss (synchronous=NORMAL), which the IMAP sync
// tolerates because it re-links both sides by content. Either way the
// executor fsyncs files before it commits the rows that point at them, so
// the database never claims more than the disk holds.
package state

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// FileName is the database file's name inside state_dir.
const FileName = "state.db"

// DB is an open state database. It is safe for concurrent use; writes are
// serialised by SQLite (BEGIN IMMEDIATE).
type DB struct {
	db *sql.DB
	// w is the one connection writes go through; wmu serialises them in
	// this process (SQLite would make concurrent writers wait in its busy
	// handler, which sleeps in steps of up to 100 ms).
	w   *sql.Conn
	wmu sync.Mutex

	onClose []func()
}

var migrations = []string{
	// 1: the initial schema.
	`CREATE TABLE folder (
		id            INTEGER PRIMARY KEY,
		channel       TEXT NOT NULL,
		name          TEXT NOT NULL,
		uidvalidity   INTEGER NOT NULL DEFAULT 0,
		uidnext       INTEGER NOT NULL DEFAULT 0,
		highestmodseq INTEGER NOT NULL DEFAULT 0,
		messages      INTEGER NOT NULL DEFAULT 0,
		cur_mtime     INTEGER NOT NULL DEFAULT 0,
		new_mtime     INTEGER NOT NULL DEFAULT 0,
		synced_at     INTEGER NOT NULL DEFAULT 0,
		UNIQUE(channel, name)
	);
	CREATE TABLE pair (
		id          INTEGER PRIMARY KEY,
		folder_id   INTEGER NOT NULL REFERENCES folder(id) ON DELETE CASCADE,
		uid         INTEGER NOT NULL,
		key         TEXT NOT NULL,
		flags       TEXT NOT NULL,
		size        INTEGER NOT NULL DEFAULT 0,
		fingerprint TEXT NOT NULL DEFAULT '',
		message_id  TEXT NOT NULL DEFAULT ''
	);
	CREATE UNIQUE INDEX pair_uid ON pair(folder_id, uid) WHERE uid > 0;
	CREATE UNIQUE INDEX pair_key ON pair(folder_id, key) WHERE key <> '';
	CREATE TABLE journal (
		id         INTEGER PRIMARY KEY,
		folder_id  INTEGER NOT NULL,
		op         TEXT NOT NULL,
		uid        INTEGER NOT NULL DEFAULT 0,
		key        TEXT NOT NULL DEFAULT '',
		arg        TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL
	);
	CREATE TABLE pop_uidl (
		account       TEXT NOT NULL,
		uidl          TEXT NOT NULL,
		first_seen    INTEGER NOT NULL,
		delivered_key TEXT NOT NULL DEFAULT '',
		status        TEXT NOT NULL DEFAULT 'delivered',
		PRIMARY KEY(account, uidl)
	) WITHOUT ROWID;
	CREATE TABLE target (
		name        TEXT NOT NULL,
		kind        TEXT NOT NULL,
		last_start  INTEGER NOT NULL DEFAULT 0,
		last_end    INTEGER NOT NULL DEFAULT 0,
		last_ok     INTEGER NOT NULL DEFAULT 0,
		last_error  TEXT NOT NULL DEFAULT '',
		last_counts TEXT NOT NULL DEFAULT '{}',
		last_success INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY(kind, name)
	) WITHOUT ROWID;`,
	// 2: loading a folder's pairs without scanning every folder's.
	`CREATE INDEX pair_folder ON pair(folder_id);`,
	// 3: the listing digest of the local folder as the last sync left it.
	`ALTER TABLE folder ADD COLUMN listing TEXT NOT NULL DEFAULT '';`,
	// 4: what each server announced after the login last time.
	`CREATE TABLE server_caps (
		account TEXT PRIMARY KEY,
		caps    TEXT NOT NULL
	) WITHOUT ROWID;`,
	// 5: whether the folder's last sync found its UIDVALIDITY changed.
	`ALTER TABLE folder ADD COLUMN uv_changed INTEGER NOT NULL DEFAULT 0;`,
}

// Open opens (creating if needed) the database in dir and brings its
// schema up to date.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dir, FileName))
}

// OpenFile opens the database at path.
func OpenFile(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_txlock", "immediate")
	sqldb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open state db %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(4)
	d := &DB{db: sqldb}
	if err := d.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open state db %s: %w", path, err)
	}
	if d.w, err = sqldb.Conn(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open state db %s: %w", path, err)
	}
	return d, nil
}

// Checkpoint copies what the write-ahead log holds into the database file
// without waiting for readers or writers (a passive checkpoint): whatever
// it moves is not left for Close to do.
func (d *DB) Checkpoint(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		return fmt.Errorf("checkpoint state: %w", err)
	}
	return nil
}

// Close closes the database.
func (d *DB) Close() error {
	d.w.Close()
	err := d.db.Close()
	for _, f := range d.onClose {
		f()
	}
	d.onClose = nil
	return err
}

// ServerCaps returns the capabilities an account's server announced after
// the login in an earlier run ("" when unknown), space-separated.
func (d *DB) ServerCaps(ctx context.Context, account string) (string, error) {
	var caps string
	err := d.db.QueryRowContext(ctx, `SELECT caps FROM server_caps WHERE account = ?`, account).Scan(&caps)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return caps, err
}

// SaveServerCaps remembers what an account's server announced after the
// login.
func (d *DB) SaveServerCaps(ctx context.Context, account, caps string) error {
	tx, err := d.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.exec(`INSERT INTO server_caps(account, caps) VALUES(?, ?) ON CONFLICT(account) DO UPDATE SET caps = excluded.caps`, account, caps); err != nil {
		return fmt.Errorf("save server capabilities: %w", err)
	}
	return tx.Commit()
}

// OnClose runs f once the database is closed.
func (d *DB) OnClose(f func()) { d.onClose = append(d.onClose, f) }

func (d *DB) migrate(ctx context.Context) error {
	var v int
	if err := d.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this mdsync knows (%d); upgrade mdsync", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := d.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}

// Folder is the state of one mailbox pair of a channel.
type Folder struct {
	ID            int64
	Channel       string
	Name          string // the IMAP name, UTF-8, '/'-separated as the server lists it
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	Messages      uint32
	CurMTime      int64
	NewMTime      int64
	// Listing is the digest of the local new/ and cur/ names as the last
	// sync left them (maildir.Listing), "" when unknown.
	Listing  string
	SyncedAt int64
	// UVChanged: the last sync of the folder found its UIDVALIDITY changed
	UVChanged bool
}

// Folders returns the folders of a channel by name.
func (d *DB) Folders(ctx context.Context, channel string) (map[string]*Folder, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, channel, name, uidvalidity, uidnext, highestmodseq, messages, cur_mtime, new_mtime, listing, synced_at, uv_changed FROM folder WHERE channel = ?`, channel)
	if err != nil {
		return nil, fmt.Errorf("load folders of %s: %w", channel, err)
	}
	defer rows.Close()
	out := map[string]*Folder{}
	for rows.Next() {
		f := &Folder{}
		if err := rows.Scan(&f.ID, &f.Channel, &f.Name, &f.UIDValidity, &f.UIDNext, &f.HighestModSeq, &f.Messages, &f.CurMTime, &f.NewMTime, &f.Listing, &f.SyncedAt, &f.UVChanged); err != nil {
			return nil, fmt.Errorf("load folders of %s: %w", channel, err)
		}
		out[f.Name] = f
	}
	return out, rows.Err()
}

// EnsureFolder returns the folder row, creating it if needed.
func (d *DB) EnsureFolder(ctx context.Context, channel, name string) (*Folder, error) {
	d.wmu.Lock()
	_, err := d.w.ExecContext(ctx, `INSERT INTO folder(channel, name) VALUES(?, ?) ON CONFLICT DO NOTHING`, channel, name)
	d.wmu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("create folder state %s/%s: %w", channel, name, err)
	}
	f := &Folder{}
	err = d.db.QueryRowContext(ctx, `SELECT id, channel, name, uidvalidity, uidnext, highestmodseq, messages, cur_mtime, new_mtime, listing, synced_at, uv_changed FROM folder WHERE channel = ? AND name = ?`, channel, name).
		Scan(&f.ID, &f.Channel, &f.Name, &f.UIDValidity, &f.UIDNext, &f.HighestModSeq, &f.Messages, &f.CurMTime, &f.NewMTime, &f.Listing, &f.SyncedAt, &f.UVChanged)
	if err != nil {
		return nil, fmt.Errorf("load folder state %s/%s: %w", channel, name, err)
	}
	return f, nil
}

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

// Tx is a write transaction. Statements are prepared lazily and reused.
type Tx struct {
	tx     *sql.Tx
	ctx    context.Context
	stmts  map[string]*sql.Stmt
	unlock func()
}

// Begin starts a write transaction (BEGIN IMMEDIATE) whose commit survives
// a crash of the process, and a power loss unless it is among the last
// commits before it (synchronous=NORMAL in WAL mode: no fsync per commit).
// That suffices where the next run recognises what a lost commit had
// recorded — the IMAP sync, whose content matching relinks both sides. Keep
// it short: other writers of this process wait for it.
func (d *DB) Begin(ctx context.Context) (*Tx, error) { return d.begin(ctx, "NORMAL") }

// BeginDurable is Begin for a commit that must survive power loss
// (synchronous=FULL: the WAL is fsynced), e.g. a POP UIDL before its DELE.
func (d *DB) BeginDurable(ctx context.Context) (*Tx, error) { return d.begin(ctx, "FULL") }

func (d *DB) begin(ctx context.Context, mode string) (*Tx, error) {
	d.wmu.Lock()
	if _, err := d.w.ExecContext(ctx, "PRAGMA synchronous = "+mode); err != nil {
		d.wmu.Unlock()
		return nil, fmt.Errorf("begin state transaction: %w", err)
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		d.wmu.Unlock()
		return nil, fmt.Errorf("begin state transaction: %w", err)
	}
	return &Tx{tx: tx, ctx: ctx, stmts: map[string]*sql.Stmt{}, unlock: sync.OnceFunc(d.wmu.Unlock)}, nil
}

// Commit commits; the transaction is durable when it returns nil.
func (t *Tx) Commit() error {
	defer t.unlock()
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("commit state: %w", err)
	}
	return nil
}

// Rollback abandons the transaction (a no-op after Commit).
func (t *Tx) Rollback() {
	_ = t.tx.Rollback()
	t.unlock()
}

func (t *Tx) exec(query string, args ...interface{}) (sql.Result, error) {
	st, ok := t.stmts[query]
	if !ok {
		var err error
		st, err = t.tx.PrepareContext(t.ctx, query)
		if err != nil {
			return nil, err
		}
		t.stmts[query] = st
	}
	return st.ExecContext(t.ctx, args...)
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

// DeleteAllPairs forgets every pair of a folder (after a UIDVALIDITY change
// the caller re-links them).
func (t *Tx) DeleteAllPairs(folderID int64) error {
	if _, err := t.exec(`DELETE FROM pair WHERE folder_id = ?`, folderID); err != nil {
		return fmt.Errorf("reset pairs: %w", err)
	}
	return nil
}

// DeleteFolder forgets a folder and its pairs.
func (t *Tx) DeleteFolder(folderID int64) error {
	if _, err := t.exec(`DELETE FROM pair WHERE folder_id = ?`, folderID); err != nil {
		return fmt.Errorf("forget folder: %w", err)
	}
	// what was under way there is moot once the folder is forgotten
	if _, err := t.exec(`DELETE FROM journal WHERE folder_id = ?`, folderID); err != nil {
		return fmt.Errorf("forget folder: %w", err)
	}
	if _, err := t.exec(`DELETE FROM folder WHERE id = ?`, folderID); err != nil {
		return fmt.Errorf("forget folder: %w", err)
	}
	return nil
}

// SaveFolder stores the folder's numbers.
func (t *Tx) SaveFolder(f *Folder) error {
	_, err := t.exec(`UPDATE folder SET uidvalidity=?, uidnext=?, highestmodseq=?, messages=?, cur_mtime=?, new_mtime=?, listing=?, synced_at=?, uv_changed=? WHERE id=?`,
		f.UIDValidity, f.UIDNext, f.HighestModSeq, f.Messages, f.CurMTime, f.NewMTime, f.Listing, f.SyncedAt, f.UVChanged, f.ID)
	if err != nil {
		return fmt.Errorf("save folder %s: %w", f.Name, err)
	}
	return nil
}

// RenameFolder gives a folder a new name, keeping its pairs (the server
// renamed it, and the local directory was renamed to match).
func (t *Tx) RenameFolder(folderID int64, name string) error {
	if _, err := t.exec(`UPDATE folder SET name=? WHERE id=?`, name, folderID); err != nil {
		return fmt.Errorf("rename folder to %s: %w", name, err)
	}
	return nil
}

// SaveMTimes stores a folder's local directory mtimes alone (the folder
// was found unchanged by its listing, not by these).
func (t *Tx) SaveMTimes(folderID, cur, new int64) error {
	if _, err := t.exec(`UPDATE folder SET cur_mtime=?, new_mtime=? WHERE id=?`, cur, new, folderID); err != nil {
		return fmt.Errorf("save folder mtimes: %w", err)
	}
	return nil
}

// Entry is a journal entry: an action whose intent was committed before it
// touched the disk or the server.
type Entry struct {
	ID       int64
	FolderID int64
	Op       string
	UID      uint32
	Key      string
	Arg      string
	Created  int64
}

// AddJournal records an intent; the returned id is set in e.
func (t *Tx) AddJournal(e *Entry) error {
	if e.Created == 0 {
		e.Created = time.Now().Unix()
	}
	r, err := t.exec(`INSERT INTO journal(folder_id, op, uid, key, arg, created_at) VALUES(?,?,?,?,?,?)`, e.FolderID, e.Op, e.UID, e.Key, e.Arg, e.Created)
	if err != nil {
		return fmt.Errorf("journal %s: %w", e.Op, err)
	}
	e.ID, err = r.LastInsertId()
	return err
}

// DoneJournal removes finished (or forgotten) entries. Runs of consecutive
// ids (a batch journals its entries together) take one statement each.
func (t *Tx) DoneJournal(ids ...int64) error {
	sorted := append([]int64(nil), ids...)
	slices.Sort(sorted)
	for i := 0; i < len(sorted); {
		j := i
		for j+1 < len(sorted) && sorted[j+1] <= sorted[j]+1 {
			j++
		}
		if _, err := t.exec(`DELETE FROM journal WHERE id BETWEEN ? AND ?`, sorted[i], sorted[j]); err != nil {
			return fmt.Errorf("journal done %d..%d: %w", sorted[i], sorted[j], err)
		}
		i = j + 1
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

// Journal returns the pending entries of a folder (all folders when
// folderID is 0), oldest first.
func (d *DB) Journal(ctx context.Context, folderID int64) ([]Entry, error) {
	q := `SELECT id, folder_id, op, uid, key, arg, created_at FROM journal`
	var args []interface{}
	if folderID != 0 {
		q += ` WHERE folder_id = ?`
		args = append(args, folderID)
	}
	rows, err := d.db.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.ID, &e.FolderID, &e.Op, &e.UID, &e.Key, &e.Arg, &e.Created); err != nil {
			return nil, fmt.Errorf("read journal: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// UIDL is what the state holds about one POP message.
type UIDL struct {
	UIDL         string
	FirstSeen    time.Time
	DeliveredKey string
	Status       string // "delivered", "deleted"
}

// POPSeen returns the UIDLs recorded for a POP account.
func (d *DB) POPSeen(ctx context.Context, account string) (map[string]UIDL, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT uidl, first_seen, delivered_key, status FROM pop_uidl WHERE account = ?`, account)
	if err != nil {
		return nil, fmt.Errorf("load uidls of %s: %w", account, err)
	}
	defer rows.Close()
	out := map[string]UIDL{}
	for rows.Next() {
		var u UIDL
		var ts int64
		if err := rows.Scan(&u.UIDL, &ts, &u.DeliveredKey, &u.Status); err != nil {
			return nil, fmt.Errorf("load uidls of %s: %w", account, err)
		}
		u.FirstSeen = time.Unix(ts, 0)
		out[u.UIDL] = u
	}
	return out, rows.Err()
}

// POPRecord records a delivered POP message.
func (t *Tx) POPRecord(account string, u UIDL) error {
	if u.Status == "" {
		u.Status = "delivered"
	}
	_, err := t.exec(`INSERT INTO pop_uidl(account, uidl, first_seen, delivered_key, status) VALUES(?,?,?,?,?)
		ON CONFLICT(account, uidl) DO UPDATE SET delivered_key=excluded.delivered_key, status=excluded.status`,
		account, u.UIDL, u.FirstSeen.Unix(), u.DeliveredKey, u.Status)
	if err != nil {
		return fmt.Errorf("record uidl %s: %w", u.UIDL, err)
	}
	return nil
}

// POPForget removes a UIDL (it vanished from the server).
func (t *Tx) POPForget(account, uidl string) error {
	if _, err := t.exec(`DELETE FROM pop_uidl WHERE account = ? AND uidl = ?`, account, uidl); err != nil {
		return fmt.Errorf("forget uidl %s: %w", uidl, err)
	}
	return nil
}

// Target is the outcome of the last run of a channel or POP account.
type Target struct {
	Name, Kind  string
	LastStart   time.Time
	LastEnd     time.Time
	OK          bool
	Error       string
	Counts      string // JSON object
	LastSuccess time.Time
}

// RecordTarget stores the outcome of a run of one target.
func (d *DB) RecordTarget(ctx context.Context, t Target) error {
	var succ int64
	if t.OK {
		succ = t.LastEnd.Unix()
	}
	d.wmu.Lock()
	defer d.wmu.Unlock()
	_, err := d.w.ExecContext(ctx, `INSERT INTO target(name, kind, last_start, last_end, last_ok, last_error, last_counts, last_success) VALUES(?,?,?,?,?,?,?,?)
		ON CONFLICT(kind, name) DO UPDATE SET last_start=excluded.last_start, last_end=excluded.last_end, last_ok=excluded.last_ok,
		last_error=excluded.last_error, last_counts=excluded.last_counts,
		last_success=CASE WHEN excluded.last_ok THEN excluded.last_success ELSE target.last_success END`,
		t.Name, t.Kind, t.LastStart.Unix(), t.LastEnd.Unix(), t.OK, t.Error, t.Counts, succ)
	if err != nil {
		return fmt.Errorf("record run of %s: %w", t.Name, err)
	}
	return nil
}

// Targets returns every recorded target, by kind then name.
func (d *DB) Targets(ctx context.Context) ([]Target, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, kind, last_start, last_end, last_ok, last_error, last_counts, last_success FROM target ORDER BY kind, name`)
	if err != nil {
		return nil, fmt.Errorf("read status: %w", err)
	}
	defer rows.Close()
	var out []Target
	for rows.Next() {
		var t Target
		var s, e, succ int64
		if err := rows.Scan(&t.Name, &t.Kind, &s, &e, &t.OK, &t.Error, &t.Counts, &succ); err != nil {
			return nil, fmt.Errorf("read status: %w", err)
		}
		t.LastStart, t.LastEnd = time.Unix(s, 0), time.Unix(e, 0)
		if succ > 0 {
			t.LastSuccess = time.Unix(succ, 0)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Counts returns per-channel message and folder counts for status.
func (d *DB) Counts(ctx context.Context, channel string) (folders, messages int, err error) {
	err = d.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM folder WHERE channel = ?), (SELECT count(*) FROM pair p JOIN folder f ON f.id = p.folder_id WHERE f.channel = ?)`, channel, channel).Scan(&folders, &messages)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return
}

// POPCount returns how many UIDLs an account has recorded.
func (d *DB) POPCount(ctx context.Context, account string) (n int, err error) {
	err = d.db.QueryRowContext(ctx, `SELECT count(*) FROM pop_uidl WHERE account = ?`, account).Scan(&n)
	return
}
