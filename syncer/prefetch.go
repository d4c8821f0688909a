package syncer

import (
	"errors"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/internal/par"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// Prefetching: a folder whose LIST-STATUS shows new mail has the bodies of
// its new messages (UID FETCH <old UIDNEXT>:*) asked in the same pipeline
// as its SELECT and flag changes (gatherAhead), and streamed into tmp/ and
// fsynced there while the pipeline goes on. Nothing in tmp/ is a message
// to any reader, so this needs no journal: when the plan then fetches
// those UIDs, their intents are journaled with the prefetched keys as
// usual, and the files are only renamed into new/ or cur/ — the folder
// needs no connection of its own (and joins the local batch). A body the
// plan does not take is removed; one left by a crash is an orphan in tmp/
// that Folder.CleanTmp removes in time, as after any interrupted delivery.

// prefetchMax bounds the new messages a folder prefetches (a bigger
// backlog is fetched in journaled batches on a connection of its own).
const prefetchMax = 2000

// prefetched is a new message's body written (and being fsynced) in tmp/,
// and what its pair will record.
type prefetched struct {
	fetched
	d      *maildir.Delivery
	synced chan error // the result of the fsync
	waited bool
	err    error
}

// wait returns the result of the prefetched body's fsync.
func (p *prefetched) wait() error {
	if !p.waited {
		p.err, p.waited = <-p.synced, true
	}
	return p.err
}

// drop removes the prefetched body.
func (p *prefetched) drop() {
	p.wait()
	p.d.Abort()
}

// prefetchable tells whether gatherAhead should ask for a folder's new
// bodies: the server has new mail for it by LIST-STATUS (UIDVALIDITY
// unchanged) and nothing is left to recover first.
func prefetchable(o Options, w *folderSync) bool {
	st, rs := w.st, w.rstat
	if o.DryRun || rs == nil || st.UIDNext == 0 || len(w.journal) > 0 || w.createLocal || !w.local.Exists() || w.noPrefetch {
		return false
	}
	next := uint32(rs.UIDNext)
	return rs.UIDValidity == st.UIDValidity && next > st.UIDNext && next-st.UIDNext <= prefetchMax
}

// prefetchRun is the reading of one folder's prefetched bodies, in a
// goroutine of its own: Dovecot answers pipelined FETCHes of one folder in
// parallel, so a body can arrive before the flag changes asked ahead of it
// are complete, and nobody must wait on the one while the other blocks the
// connection.
type prefetchRun struct {
	done  chan struct{}
	pre   map[uint32]*prefetched
	flags map[uint32]string // the new messages' flags
	err   error
}

// startPrefetch asks for the UIDs, flags and bodies of the messages new
// since the last sync, up to LIST-STATUS's UIDNEXT, and starts reading
// them. Not "n:*": when no such message is left, that answers the last
// message, and the client, which routes answers by UID, would hand it to
// the wrong command.
func startPrefetch(c *imapconn.Conn, o Options, w *folderSync) *prefetchRun {
	set := imap.UIDSet{imap.UIDRange{Start: imap.UID(w.st.UIDNext), Stop: imap.UID(w.rstat.UIDNext - 1)}}
	fc := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	r := &prefetchRun{done: make(chan struct{}), pre: map[uint32]*prefetched{}, flags: map[uint32]string{}}
	go func() {
		defer close(r.done)
		r.err = r.read(c, o, w, fc)
	}()
	return r
}

// wait waits for the reading to end.
func (r *prefetchRun) wait() { <-r.done }

// read writes each body into tmp/ and fsyncs it in the background. A body
// that cannot be written is left to the plan's own fetch; the error
// returned matters only when it broke the connection.
func (r *prefetchRun) read(c *imapconn.Conn, o Options, w *folderSync, fc *imapclient.FetchCommand) error {
	syncs := par.NewGroup(maildir.SyncsInFlight) // fsyncs in flight
	var failed error
	for {
		m := fc.Next()
		if m == nil {
			break
		}
		var p *prefetched
		items, err := readItems(m, func(items *fetchItems, body imap.LiteralReader) error {
			if items.uid < w.st.UIDNext || r.pre[items.uid] != nil || failed != nil {
				return nil
			}
			p, failed = r.deliver(o, w, items.uid, lettersOf(items.flags), items.internalDate, body)
			if errors.Is(failed, errBodyRead) {
				return failed
			}
			return nil
		})
		if err != nil {
			c.Abort()
			fc.Close()
			return err
		}
		uid, flags := items.uid, items.flags
		if uid < w.st.UIDNext || !items.gotFlags {
			if p != nil {
				p.d.Abort() // no flags: not a message the plan can know
			}
			continue
		}
		r.flags[uid] = lettersOf(flags)
		if p == nil {
			continue
		}
		r.pre[uid] = p
		syncs.Go(func() { p.synced <- p.d.Sync() })
	}
	if len(r.pre) > 0 {
		failpoint.Hit("prefetch.after-read")
	}
	return fc.Close()
}

func (r *prefetchRun) deliver(o Options, w *folderSync, uid uint32, flags string, arrived time.Time, body imap.LiteralReader) (*prefetched, error) {
	key, err := o.Store.NewKey()
	if err != nil {
		return nil, err
	}
	d, f, err := deliverBody(w.local, Action{Op: OpFetch, UID: uid, Key: key, Flags: flags}, arrived, body)
	if err != nil {
		return nil, err
	}
	return &prefetched{fetched: f, d: d, synced: make(chan error, 1)}, nil
}

// take hands the prefetched bodies to the folder when its gather
// succeeded, else removes them.
func (r *prefetchRun) take(w *folderSync, ok bool) {
	r.wait()
	if !ok {
		for _, p := range r.pre {
			p.drop()
		}
		r.pre = nil
		return
	}
	if w.prefetch == nil {
		w.prefetch = map[uint32]*prefetched{}
	}
	for u, p := range r.pre {
		if old := w.prefetch[u]; old != nil {
			old.drop()
		}
		w.prefetch[u] = p
	}
	r.pre = nil
}

// isPrefetched tells whether act is a fetch whose body is prefetched.
func (w *folderSync) isPrefetched(act Action) bool {
	return act.Op == OpFetch && w.prefetch[act.UID] != nil
}

// dropPrefetched removes the prefetched bodies no plan took.
func (w *folderSync) dropPrefetched() {
	for _, p := range w.prefetch {
		p.drop()
	}
	w.prefetch = nil
}

// linkPrefetched delivers prefetched bodies (their intents journaled as
// ids): a rename each, then the directory fsyncs (unless the caller does
// them for several folders), then their pairs are recorded with the
// folder's other outcomes.
func (a *applier) linkPrefetched(acts []Action, ids []int64) error {
	var got []fetched
	var errs error
	for _, act := range acts {
		p := a.w.prefetch[act.UID]
		delete(a.w.prefetch, act.UID)
		if err := p.wait(); err != nil {
			p.d.Abort()
			errs = errors.Join(errs, err)
			continue
		}
		if act.Flags != p.flags {
			if err := p.d.SetFlags(act.Flags); err != nil {
				p.d.Abort()
				errs = errors.Join(errs, err)
				continue
			}
		}
		m, err := p.d.Commit()
		if err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		f := p.fetched
		f.flags = act.Flags
		f.path = m.Path(a.w.local)
		got = append(got, f)
	}
	failpoint.Hit("prefetch.after-link")
	if len(got) > 0 {
		if err := a.syncDirs(); err != nil {
			// not durable: the journal keeps the intents for the next run
			return errors.Join(errs, err)
		}
	}
	// a body that failed leaves its UID unpaired: the next run fetches it
	a.record(ids, func(tx *state.Tx) error {
		for _, f := range got {
			if err := tx.PutPair(a.w.st.ID, f.pair()); err != nil {
				return err
			}
		}
		return nil
	})
	if len(got) > 0 {
		a.res.add(func(r *Result) {
			r.Fetched += len(got)
			r.Prefetched += len(got)
			r.bytes += sizes(got)
			r.arrived(a.w.name, got)
		})
	}
	return errs
}
