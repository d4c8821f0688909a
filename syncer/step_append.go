package syncer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/internal/msgio"
	"github.com/mdsync/mdsync/state"
)

// appendFlush is how many uploads are recorded per transaction.
const appendFlush = 64

func (a *applier) append(acts []Action) error {
	uidplus := a.c.Caps.Has(imap.CapUIDPlus) || a.c.Caps.Has(imap.CapIMAP4rev2)
	unlinked, queued := 0, 0
	failpoint.Hit("append.after-journal")
	for i, act := range acts {
		id := []int64{a.ids[OpAppend][i]}
		m, ok := a.w.msgs[act.Key]
		if !ok {
			a.record(id, func(*state.Tx) error { return nil })
			continue
		}
		li, ok := a.w.localInfo[act.Key]
		if !ok {
			var err error
			if li, err = readLocalFile(m.Path(a.w.local)); err != nil {
				return fmt.Errorf("read %s: %w", m.Name, err)
			}
		}
		f, err := a.w.local.Open(m)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // deleted meanwhile: nothing to upload
				a.record(id, func(*state.Tx) error { return nil })
				continue
			}
			return err
		}
		cmd := a.c.Append(a.o.ns.toServer(a.w.name), li.CRLFSize, &imap.AppendOptions{Flags: flagsOf(act.Flags), Time: li.Date})
		_, cerr := io.Copy(cmd, msgio.NewCRLFReader(f))
		f.Close()
		if err := cmd.Close(); cerr == nil {
			cerr = err
		}
		data, err := cmd.Wait()
		if cerr != nil {
			return fmt.Errorf("append %s: %w", m.Name, cerr)
		}
		if err != nil {
			return fmt.Errorf("append %s: %w", m.Name, err)
		}
		failpoint.Hit("append.after-server")
		if uidplus && data != nil && data.UID != 0 && (a.w.planSel == nil || data.UIDValidity == 0 || data.UIDValidity == a.w.planSel.UIDValidity) {
			p := state.Pair{UID: uint32(data.UID), Key: act.Key, Flags: act.Flags, Size: li.CRLFSize, Fingerprint: li.Fingerprint, MessageID: li.MessageID}
			a.record(id, func(tx *state.Tx) error { return tx.PutPair(a.w.st.ID, p) })
		} else {
			a.record(id, func(*state.Tx) error { return nil })
			unlinked++
		}
		a.res.add(func(r *Result) { r.Appended++; r.bytes += li.CRLFSize })
		if queued++; queued == appendFlush || i == len(acts)-1 {
			if err := a.flush(false); err != nil {
				return err
			}
			queued = 0
			failpoint.Hit("append.after-commit")
		}
	}
	if unlinked > 0 {
		a.w.rescan = true
		a.res.note("%s: server gave no APPENDUID for %d uploads: they are linked by content next run", a.w.name, unlinked)
	}
	return nil
}
