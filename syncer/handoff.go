package syncer

import (
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// sendNext sends the SELECT of the folder this connection serves next,
// right behind this folder's last command, so that it costs no round trip
// of its own. Only when this folder's plan sends nothing more once its
// flag STOREs and UID EXPUNGE are out (nothing else may reach the server
// after another folder's SELECT), and the next folder will select. The
// next folder still checks UIDVALIDITY before it changes anything.
func (a *applier) sendNext(step Op) {
	if a.lane == nil || a.lane.ahead != nil {
		return
	}
	nx := a.lane.next
	if step != a.lastOp || (step == OpFetch && !a.lastBatch) || nx == nil {
		return
	}
	condstore := a.c.Caps.Has(imap.CapCondStore)
	if nx.plan == nil {
		// not gathered yet: its SELECT and flag changes
		if nx.gathered || !pipelinable(nx, condstore) {
			return
		}
		ask := askRemote(a.c, a.o, nx, condstore, false)
		a.lane.ahead = &sentAhead{w: nx, ask: &ask}
		return
	}
	if nx.plan.Blocked != "" || !needsServer(nx) {
		return
	}
	a.lane.ahead = &sentAhead{w: nx, sel: a.c.Select(a.o.ns.toServer(nx.name), &imap.SelectOptions{CondStore: condstore})}
}

// reselect takes the connection back from the next folder's SELECT sent
// ahead, for more commands of this folder (a fetch to try again): that
// SELECT is waited for and forgotten (the next folder selects again).
func (a *applier) reselect() error {
	if a.lane == nil || a.lane.ahead == nil {
		return nil
	}
	a.lane.drain() // the connection's mailbox is the next folder's after it
	return a.selected(nil)
}

func (a *applier) selectRW() error {
	pre := a.lane.takeSelect(a.w)
	if mb := a.c.Mailbox(); pre == nil && mb != nil && mb.Name == a.w.name && (a.w.planSel != nil || a.w.applySel != nil) {
		return nil
	}
	return a.selected(pre)
}

// selected waits for pre (a SELECT of the folder sent ahead), or selects
// the folder now, and checks that UIDVALIDITY is still the plan's.
func (a *applier) selected(pre *imapclient.SelectCommand) error {
	if pre == nil {
		pre = a.c.Select(a.o.ns.toServer(a.w.name), &imap.SelectOptions{CondStore: a.c.Caps.Has(imap.CapCondStore)})
	}
	sel, err := pre.Wait()
	if err != nil {
		return fmt.Errorf("select %q: %w", a.w.name, err)
	}
	want := a.w.st.UIDValidity
	if a.w.planSel != nil {
		want = a.w.planSel.UIDValidity
	}
	if want != 0 && sel.UIDValidity != want {
		return fmt.Errorf("select %q: UIDVALIDITY changed during the run; the next run will re-match the folder", a.w.name)
	}
	// Not w.planSel: the folder's numbers to save are those the plan was made
	// from (LIST-STATUS when the plan needed no gather); a change someone
	// made since then must still look like a change next run.
	a.w.applySel = sel
	return nil
}
