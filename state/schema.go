package state

import (
	"context"
	"fmt"
)

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
	// 6: who owns each journal entry (a channel or a POP account), so that
	// each reads its own; POP entries kept "account NUL uidl" in arg (text
	// functions stop at a NUL: it is split as bytes).
	`ALTER TABLE journal ADD COLUMN owner TEXT NOT NULL DEFAULT '';
	UPDATE journal SET owner = 'channel:' || COALESCE((SELECT channel FROM folder WHERE folder.id = journal.folder_id), '')
		WHERE op <> 'pop-deliver';
	UPDATE journal SET
		owner = 'pop:' || CAST(substr(CAST(arg AS BLOB), 1, instr(CAST(arg AS BLOB), x'00') - 1) AS TEXT),
		arg = CAST(substr(CAST(arg AS BLOB), instr(CAST(arg AS BLOB), x'00') + 1) AS TEXT)
		WHERE op = 'pop-deliver' AND instr(CAST(arg AS BLOB), x'00') > 0;
	UPDATE journal SET arg = '' WHERE op = 'move';
	CREATE INDEX journal_owner ON journal(owner, id);`,
}

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
