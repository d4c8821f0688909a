package state

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// JournalOp names the side effect a journal entry stands for. It is stored
// as text: the values are part of the file format and never change.
type JournalOp string

// The side effects that are journaled before they happen.
const (
	JournalFetch         JournalOp = "fetch"        // IMAP body delivered under Key
	JournalAppend        JournalOp = "append"       // local Key uploaded
	JournalMove          JournalOp = "move"         // server UID moved to another folder
	JournalMoveIn        JournalOp = "move-in"      // local Key of folder Arg moved in as server UID
	JournalStoreFlags    JournalOp = "store"        // flags stored on server UID
	JournalSetLocalFlags JournalOp = "set-flags"    // local Key renamed to new flags
	JournalExpunge       JournalOp = "expunge"      // server UID expunged
	JournalDeleteLocal   JournalOp = "delete-local" // local Key removed
	JournalPOPDeliver    JournalOp = "pop-deliver"  // POP message Arg (its UIDL) delivered under Key
)

// Owner is who wrote a journal entry and recovers it: a channel or a POP
// account. Each reads only its own entries, so that concurrent runs of
// different targets never see, let alone finish, each other's.
type Owner string

// ChannelOwner is the owner of a channel's entries.
func ChannelOwner(name string) Owner { return Owner("channel:" + name) }

// POPOwner is the owner of a POP account's entries.
func POPOwner(name string) Owner { return Owner("pop:" + name) }

// Entry is a journal entry: an action whose intent was committed before it
// touched the disk or the server.
type Entry struct {
	ID       int64
	Owner    Owner
	FolderID int64 // the channel folder (0 for POP)
	Op       JournalOp
	UID      uint32
	Key      string
	Arg      string // the POP UIDL; a move-in's source folder
	Created  int64
}

// AddJournal records an intent; the returned id is set in e.
func (t *Tx) AddJournal(e *Entry) error {
	if e.Owner == "" {
		return fmt.Errorf("journal %s: no owner", e.Op)
	}
	if e.Created == 0 {
		e.Created = time.Now().Unix()
	}
	r, err := t.exec(`INSERT INTO journal(owner, folder_id, op, uid, key, arg, created_at) VALUES(?,?,?,?,?,?,?)`, e.Owner, e.FolderID, e.Op, e.UID, e.Key, e.Arg, e.Created)
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

// Journal returns the pending entries of one owner, oldest first.
func (d *DB) Journal(ctx context.Context, owner Owner) ([]Entry, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, owner, folder_id, op, uid, key, arg, created_at FROM journal WHERE owner = ? ORDER BY id`, owner)
	if err != nil {
		return nil, fmt.Errorf("read the journal of %s: %w", owner, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.ID, &e.Owner, &e.FolderID, &e.Op, &e.UID, &e.Key, &e.Arg, &e.Created); err != nil {
			return nil, fmt.Errorf("read the journal of %s: %w", owner, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
