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
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"

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

// OnClose runs f once the database is closed.
func (d *DB) OnClose(f func()) { d.onClose = append(d.onClose, f) }
