package syncer

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/internal/msgio"
	"github.com/mdsync/mdsync/internal/par"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// fetchBatch is how many messages one journal transaction covers.
const fetchBatch = 500

// fetched is one message written during a fetch batch.
type fetched struct {
	uid   uint32
	key   string
	flags string
	size  int64
	fp    string
	msgid string
	head  string // msgio.HeadKey of its header ("" if not whole)
	path  string // the file, once committed
}

// pair is what the state records of a fetched message.
func (f fetched) pair() state.Pair {
	return state.Pair{UID: f.uid, Key: f.key, Flags: f.flags, Size: f.size, Fingerprint: f.fp, MessageID: f.msgid}
}

func (a *applier) fetch(acts []Action) error {
	if !a.w.local.Exists() {
		lf, err := a.o.Store.CreateFolder(a.w.name, a.w.delim)
		if err != nil {
			return err
		}
		lf.DeferDirSync = true
		a.w.local = lf
		a.w.listing, err = lf.ReadListing()
		a.w.listingOK = err == nil
	}
	// what interrupted deliveries (a kill, a crash) left in tmp/
	if err := a.w.local.CleanTmp(maildir.TmpMaxAge); err != nil {
		a.res.note("%s: %v", a.w.name, err)
	}
	ids := a.ids[OpFetch]
	if len(a.w.prefetch) > 0 && len(ids) == len(acts) {
		// the prefetched bodies first: a rename each
		var pre, rest []Action
		var preIDs, restIDs []int64
		for i, act := range acts {
			if a.w.isPrefetched(act) {
				pre, preIDs = append(pre, act), append(preIDs, ids[i])
			} else {
				rest, restIDs = append(rest, act), append(restIDs, ids[i])
			}
		}
		if len(pre) > 0 {
			if err := a.linkPrefetched(pre, preIDs); err != nil {
				return err
			}
			acts, ids = rest, restIDs
		}
	}
	if len(acts) > 0 && a.c == nil {
		return fmt.Errorf("%s: fetching needs the server but no connection was given", a.w.name)
	}
	batches := chunks(acts, fetchBatch)
	for i, batch := range batches {
		a.lastBatch = i == len(batches)-1
		var bids []int64
		if len(ids) == len(acts) { // journaled by begin
			bids = ids[i*fetchBatch : i*fetchBatch+len(batch)]
		}
		if err := a.fetchBatch(batch, bids); err != nil {
			return err
		}
	}
	return nil
}

// fetchBatch fetches acts; ids are their journal entries when begin wrote
// them (with the keys in acts), else the batch journals itself.
func (a *applier) fetchBatch(acts []Action, ids []int64) error {
	want := map[uint32]Action{}
	if ids == nil {
		for i := range acts {
			k, err := a.o.Store.NewKey()
			if err != nil {
				return err
			}
			acts[i].Key = k
		}
		var err error
		if ids, err = a.journal(OpFetch, acts); err != nil {
			return err
		}
	}
	for _, act := range acts {
		want[act.UID] = act
	}
	failpoint.Hit("fetch.after-journal")
	var (
		mu      sync.Mutex
		got     []fetched
		werr    error
		commits = par.NewGroup(maildir.SyncsInFlight) // fsyncs in flight
		pending = acts
	)
	// keep records, when the fetch fails midway (say the connection
	// drops), the messages already written whole: they are kept and their
	// journal entries done; the others are left to the next run.
	keep := func(failure error) error {
		commits.Wait()
		if len(got) == 0 || a.w.local.SyncDirs() != nil {
			return failure
		}
		idOf := make(map[uint32]int64, len(acts))
		for i, act := range acts {
			idOf[act.UID] = ids[i]
		}
		err := a.tx(func(tx *state.Tx) error {
			doneIDs := make([]int64, 0, len(got))
			for _, f := range got {
				if err := tx.PutPair(a.w.st.ID, f.pair()); err != nil {
					return err
				}
				doneIDs = append(doneIDs, idOf[f.uid])
			}
			return tx.DoneJournal(doneIDs...)
		})
		if err == nil {
			a.res.add(func(r *Result) { r.Fetched += len(got); r.bytes += sizes(got); r.arrived(a.w.name, got) })
		}
		return failure
	}
	for attempt := 0; attempt < 2 && len(pending) > 0; attempt++ {
		if attempt > 0 {
			if err := a.reselect(); err != nil {
				return keep(err)
			}
		}
		err := fetchBodies(a.c, uidsOf(pending), func() { a.sendNext(OpFetch) }, func(uid uint32, arrived time.Time, body imap.LiteralReader) error {
			act, ok := want[uid]
			if !ok {
				return nil // not asked for (or already delivered)
			}
			d, f, err := deliverBody(a.w.local, act, arrived, body)
			if err != nil {
				return err
			}
			delete(want, uid)
			commits.Go(func() {
				m, err := d.Commit()
				mu.Lock()
				defer mu.Unlock()
				if err != nil && werr == nil {
					werr = err
				}
				if err == nil {
					f.path = m.Path(a.w.local)
					got = append(got, f)
				}
			})
			return nil
		})
		if err != nil {
			return keep(err)
		}
		pending = pending[:0:0]
		for _, act := range acts {
			if _, missing := want[act.UID]; missing {
				pending = append(pending, act)
			}
		}
	}
	// The rest waits for the disk only: with asyncTail it goes on in the
	// background while the connection serves the next folder.
	tail := func() error {
		commits.Wait()
		if werr != nil {
			return keep(werr)
		}
		if err := a.w.local.SyncDirs(); err != nil {
			return err
		}
		failpoint.Hit("fetch.after-write")
		err := a.tx(func(tx *state.Tx) error {
			for _, f := range got {
				if err := tx.PutPair(a.w.st.ID, f.pair()); err != nil {
					return err
				}
			}
			return tx.DoneJournal(ids...) // messages still missing were expunged meanwhile
		})
		if err != nil {
			return err
		}
		failpoint.Hit("fetch.after-commit")
		if len(pending) > 0 {
			a.res.note("%s: %d messages vanished from the server before they could be fetched", a.w.name, len(pending))
		}
		a.res.add(func(r *Result) { r.Fetched += len(got); r.bytes += sizes(got); r.arrived(a.w.name, got) })
		return nil
	}
	if !a.asyncTail {
		return tail()
	}
	a.tails.Add(1)
	go func() {
		defer a.tails.Done()
		if err := tail(); err != nil {
			a.tailMu.Lock()
			a.tailErr = errors.Join(a.tailErr, err)
			a.tailMu.Unlock()
		}
	}()
	return nil
}

// waitTails waits for the fetch batches finishing in the background and
// returns their error.
func (a *applier) waitTails() error {
	a.tails.Wait()
	a.tailMu.Lock()
	defer a.tailMu.Unlock()
	return a.tailErr
}

type countingReader struct {
	r   io.Reader
	n   int64
	err error // the read error other than io.EOF, if any
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// errBodyRead marks a body that could not be read whole from the server.
var errBodyRead = errors.New("body not received whole")

// deliverBody streams the body of act's message into tmp/ of lf, under
// act's key, to be committed with act's flags. The file's modification
// time becomes the server's arrival date when known (mbsync's
// CopyArrivalDate): mail readers sort "by date received" on it.
// It returns the delivery to commit and what its pair will record.
func deliverBody(lf *maildir.Folder, act Action, arrived time.Time, body io.Reader) (*maildir.Delivery, fetched, error) {
	o := maildir.DeliverOpts{Key: act.Key, TrustKey: true, NoDirSync: true, MTime: arrived}
	if act.Flags == "" {
		o.New = true // unread and unflagged: new/, as a mail client expects
	} else {
		o.Flags = act.Flags
	}
	d, err := lf.NewDelivery(o)
	if err != nil {
		return nil, fetched{}, err
	}
	cr := &countingReader{r: body}
	lw := msgio.NewLFWriter(d)
	if _, err := io.Copy(lw, cr); err != nil {
		d.Abort()
		if cr.err != nil {
			return nil, fetched{}, fmt.Errorf("fetch uid %d: %w: %w", act.UID, errBodyRead, err)
		}
		return nil, fetched{}, fmt.Errorf("fetch uid %d: %w", act.UID, err)
	}
	// A literal cut short by a closed connection reads as a clean EOF:
	// never commit a partial body.
	if lr, ok := body.(imap.LiteralReader); ok && cr.n != lr.Size() {
		d.Abort()
		return nil, fetched{}, fmt.Errorf("fetch uid %d: %w: %d of %d bytes: %w", act.UID, errBodyRead, cr.n, lr.Size(), io.ErrUnexpectedEOF)
	}
	if err := lw.Flush(); err != nil {
		d.Abort()
		return nil, fetched{}, err
	}
	return d, fetched{uid: act.UID, key: act.Key, flags: act.Flags, size: cr.n, fp: lw.Fingerprint(), msgid: lw.Header().MessageID(), head: lw.Header().HeadKey()}, nil
}
