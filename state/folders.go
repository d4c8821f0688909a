package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

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

// Counts returns per-channel message and folder counts for status.
func (d *DB) Counts(ctx context.Context, channel string) (folders, messages int, err error) {
	err = d.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM folder WHERE channel = ?), (SELECT count(*) FROM pair p JOIN folder f ON f.id = p.folder_id WHERE f.channel = ?)`, channel, channel).Scan(&folders, &messages)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return
}
