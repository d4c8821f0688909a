package syncer

import (
	"context"

	"github.com/mdsync/mdsync/state"
)

// recoverFolder finishes or forgets the journal entries a killed run left
// behind, by looking at the world:
//   - fetch: the file with the journaled key exists -> record the pair (it
//     was delivered; the crash came before its record); else forget it, the
//     message is planned again.
//   - append, move: forget; the uploaded or moved copy, if it landed, is
//     new on the server while the local file is unpaired, and content
//     matching (Message-ID + size) links them instead of uploading again.
//   - store, set-flags, expunge, delete-local: forget; planning again from
//     both sides converges (a flag already set on both sides is agreed, a
//     message gone on both sides is forgotten).
func recoverFolder(ctx context.Context, o Options, w *work, journal []state.Entry, res *Result) error {
	tx, err := o.DB.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	linked := 0
	for _, e := range journal {
		if e.Op == "fetch" && w.local.Exists() {
			m, found, err := w.local.Lookup(e.Key)
			if err != nil {
				return err
			}
			if found {
				if err := tx.PutPair(w.st.ID, state.Pair{UID: e.UID, Key: e.Key, Flags: Synced(m.Flags)}); err != nil {
					return err
				}
				linked++
			}
		}
		if err := tx.DoneJournal(e.ID); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	res.note("%s: recovered %d journal entries of an interrupted run (%d deliveries kept)", w.name, len(journal), linked)
	return nil
}
