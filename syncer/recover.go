package syncer

import (
	"context"
	"fmt"

	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// recoverFolder finishes or forgets the journal entries a killed run left
// behind, by looking at the world:
//   - fetch: the file with the journaled key exists -> record the pair (it
//     was delivered; the crash came before its record); else forget it, the
//     message is planned again.
//   - append, move: forget; the uploaded or moved copy, if it landed, is
//     new on the server while the local file is unpaired, and content
//     matching (matchContent) links them instead of uploading again.
//   - move-in: the file with the key is in this folder -> record its pair
//     here and drop the one of the folder it came from; else forget (the
//     file is still there, the server's move is seen again and followed,
//     or downloaded).
//   - store, set-flags, expunge, delete-local: forget; planning again from
//     both sides converges (a flag already set on both sides is agreed, a
//     message gone on both sides is forgotten).
func recoverFolder(ctx context.Context, o Options, w *folderSync, journal []state.Entry, res *Result) error {
	find, err := fetchedFinder(w, journal)
	if err != nil {
		return fmt.Errorf("recover %q: %w", w.name, err)
	}
	tx, err := o.DB.Begin(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("recover %q: %w", w.name, err)
	}
	defer tx.Rollback()
	linked := 0
	ids := make([]int64, 0, len(journal))
	var folders map[string]*state.Folder // the sources of move-ins
	for _, e := range journal {
		if e.Op == state.JournalFetch || e.Op == state.JournalMoveIn {
			m, found, err := find(e.Key)
			if err != nil {
				return fmt.Errorf("recover %q: %w", w.name, err)
			}
			if found && e.Op == state.JournalMoveIn {
				if folders == nil {
					if folders, err = o.DB.Folders(ctx, o.Name); err != nil {
						return fmt.Errorf("recover %q: %w", w.name, err)
					}
				}
				if src := folders[e.Arg]; src != nil {
					if err := tx.DeleteKeyPairs(src.ID, e.Key); err != nil {
						return fmt.Errorf("recover %q: %w", w.name, err)
					}
				}
			}
			if found {
				if err := tx.PutPair(w.st.ID, state.Pair{UID: e.UID, Key: e.Key, Flags: synced(m.Flags)}); err != nil {
					return fmt.Errorf("recover %q: %w", w.name, err)
				}
				linked++
			}
		}
		ids = append(ids, e.ID)
	}
	if err := tx.DoneJournal(ids...); err != nil {
		return fmt.Errorf("recover %q: %w", w.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recover %q: %w", w.name, err)
	}
	res.notice("%s: finished %d actions an earlier run left open (%d downloaded messages kept)", w.name, len(journal), linked)
	return nil
}

// lookupMax is how many fetch entries are looked up one by one; above it
// the folder is read once and the entries found in that listing, so that
// recovery stays linear in the number of entries and files.
const lookupMax = 8

// fetchedFinder returns how to find the files of the journal's fetch
// entries in the folder.
func fetchedFinder(w *folderSync, journal []state.Entry) (func(key string) (maildir.Message, bool, error), error) {
	none := func(string) (maildir.Message, bool, error) { return maildir.Message{}, false, nil }
	if !w.local.Exists() {
		return none, nil
	}
	n := 0
	for _, e := range journal {
		if e.Op == state.JournalFetch || e.Op == state.JournalMoveIn {
			n++
		}
	}
	if n <= lookupMax {
		return w.local.Lookup, nil
	}
	msgs, _, err := w.local.ScanNames()
	if err != nil {
		return nil, err
	}
	return func(key string) (maildir.Message, bool, error) {
		m, ok := msgs[key]
		return m, ok, nil
	}, nil
}
