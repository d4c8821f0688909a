package syncer

import (
	"fmt"
	"sort"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/state"
)

func (a *applier) move(acts []Action) error {
	byDst := map[string][]Action{}
	for _, act := range acts {
		byDst[act.DstFolder] = append(byDst[act.DstFolder], act)
	}
	dsts := make([]string, 0, len(byDst))
	for d := range byDst {
		dsts = append(dsts, d)
	}
	sort.Strings(dsts)
	idOf := map[uint32]int64{}
	for i, act := range acts {
		idOf[act.UID] = a.ids[OpMove][i]
	}
	for _, dst := range dsts {
		group := byDst[dst]
		var ids []int64
		for _, act := range group {
			ids = append(ids, idOf[act.UID])
		}
		failpoint.Hit("move.after-journal")
		var srcUIDs, dstUIDs imap.NumSet
		if a.c.Caps.Has(imap.CapMove) || a.c.Caps.Has(imap.CapIMAP4rev2) {
			md, err := a.c.Move(uidsOf(group), a.o.ns.toServer(dst)).Wait()
			if err != nil {
				return fmt.Errorf("move to %q: %w", dst, err)
			}
			if md != nil {
				srcUIDs, dstUIDs = md.SourceUIDs, md.DestUIDs
			}
		} else {
			// COPY, then expunge only these (the library's own fallback
			// would run a plain EXPUNGE without UIDPLUS).
			cd, err := a.c.Copy(uidsOf(group), a.o.ns.toServer(dst)).Wait()
			if err != nil {
				return fmt.Errorf("copy to %q: %w", dst, err)
			}
			if cd != nil {
				srcUIDs, dstUIDs = cd.SourceUIDs, cd.DestUIDs
			}
			if err := a.expungeUIDs(uidsOf(group)); err != nil {
				return err
			}
		}
		failpoint.Hit("move.after-server")
		dstMap := map[uint32]uint32{}
		if srcUIDs != nil && dstUIDs != nil {
			if su, ok := srcUIDs.(imap.UIDSet); ok {
				if du, ok := dstUIDs.(imap.UIDSet); ok {
					s, _ := su.Nums()
					d, _ := du.Nums()
					for i := range s {
						if i < len(d) {
							dstMap[uint32(s[i])] = uint32(d[i])
						}
					}
				}
			}
		}
		var dstSt *state.Folder
		if dw := a.byName[dst]; dw != nil && dw.st != nil && dw.st.ID != 0 {
			dstSt = dw.st
		} else {
			var err error
			if dstSt, err = a.o.DB.EnsureFolder(a.ctx, a.o.Name, dst); err != nil {
				return err
			}
		}
		a.record(ids, func(tx *state.Tx) error {
			for _, act := range group {
				old := a.pairMeta(act.UID, act.Key, act.Base)
				if err := tx.DeletePair(a.w.st.ID, act.UID, ""); err != nil {
					return err
				}
				if du, ok := dstMap[act.UID]; ok {
					// The server copy keeps its flags (the base); the next
					// run pushes a flag change made with the move.
					old.UID, old.Key = du, act.DstKey
					if err := tx.PutPair(dstSt.ID, old); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if len(dstMap) < len(group) {
			a.res.note("%s: server gave no COPYUID for %d moved messages: they are re-linked by content next run", a.w.name, len(group)-len(dstMap))
		}
		a.res.add(func(r *Result) { r.Moved += len(group) })
	}
	return nil
}
