package popfetch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/internal/par"
	"github.com/mdsync/mdsync/internal/pop3"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// errShort marks a message that ended (with its terminating dot) before the
// size LIST announced.
var errShort = errors.New("message shorter than announced by LIST (truncated by the server)")

// fetchAll fetches todo in batches. It returns a fatal error (the session is
// unusable or the state could not be written) and the errors of single
// messages that were skipped. seen gets the UIDLs recorded.
func (f *Fetcher) fetchAll(ctx context.Context, c *pop3.Client, folder *maildir.Folder, todo []srvMsg, seen map[string]state.UIDL, res *Result) ([]error, error) {
	var msgErrs []error
	if len(todo) > 0 {
		// what interrupted deliveries (a kill, a crash) left in tmp/
		if err := folder.CleanTmp(maildir.TmpMaxAge); err != nil {
			res.warn(f, "%v", err)
		}
	}
	bw := bufio.NewWriterSize(nil, 64<<10)
	for len(todo) > 0 {
		n, sum := 0, int64(0)
		for n < len(todo) && n < batchMessages && (n == 0 || sum+todo[n].size <= batchBytes) {
			sum += todo[n].size
			n++
		}
		batch := todo[:n]
		todo = todo[n:]
		errs, err := f.fetchBatch(ctx, c, folder, batch, seen, bw, res)
		msgErrs = append(msgErrs, errs...)
		if err != nil {
			return msgErrs, err
		}
	}
	return msgErrs, nil
}

func (f *Fetcher) fetchBatch(ctx context.Context, c *pop3.Client, folder *maildir.Folder, batch []srvMsg, seen map[string]state.UIDL, bw *bufio.Writer, res *Result) ([]error, error) {
	acct := f.o.Account
	keys := make([]string, len(batch))
	ids := make([]int64, len(batch))
	tx, err := f.o.DB.BeginDurable(ctx)
	if err != nil {
		return nil, err
	}
	for i, m := range batch {
		if keys[i], err = f.o.Store.NewKey(); err != nil {
			tx.Rollback()
			return nil, err
		}
		e := &state.Entry{Owner: state.POPOwner(acct), Op: state.JournalPOPDeliver, Key: keys[i], Arg: m.uidl}
		if err := tx.AddJournal(e); err != nil {
			tx.Rollback()
			return nil, err
		}
		ids[i] = e.ID
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}

	var msgErrs []error
	var fatal error
	var recs []state.UIDL
	now := f.now()
	// Each message is written to tmp/ while the previous ones are fsynced
	// and renamed into new/ in the background, maildir.SyncsInFlight at a
	// time: the download waits when the disk falls behind.
	var (
		commits = par.NewGroup(maildir.SyncsInFlight)
		mu      sync.Mutex // recs, res and cerr, from the commits
		cerr    error
	)
	for i, m := range batch {
		failpoint.Hit("pop.after-journal")
		if err := ctx.Err(); err != nil {
			fatal = err // interrupted: the messages so far are recorded below
			break
		}
		d, size, err := f.deliver(ctx, c, folder, m, keys[i], bw)
		if err != nil {
			var pe *pop3.Error
			if errors.As(err, &pe) || errors.Is(err, errShort) {
				msgErrs = append(msgErrs, fmt.Errorf("message %d (uidl %s): %w", m.id, m.uidl, err))
				res.warn(f, "message %d (uidl %s) not fetched: %v", m.id, m.uidl, err)
				continue
			}
			fatal = fmt.Errorf("fetch message %d (uidl %s): %w", m.id, m.uidl, err)
			break
		}
		rec := state.UIDL{UIDL: m.uidl, FirstSeen: now, DeliveredKey: keys[i], Status: state.POPDelivered}
		commits.Go(func() {
			m, err := d.Commit()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				cerr = errors.Join(cerr, err)
				return
			}
			recs = append(recs, rec)
			res.Bytes += size
			res.Arrived = append(res.Arrived, m.Path(folder))
		})
		failpoint.Hit("pop.after-deliver")
	}
	commits.Wait()
	if cerr != nil {
		fatal = errors.Join(fatal, cerr)
	}

	// Make the renames durable, then record them and close the intents.
	if len(recs) > 0 {
		if err := folder.SyncDirs(); err != nil {
			return msgErrs, errors.Join(fatal, err)
		}
	}
	tx, err = f.o.DB.BeginDurable(context.WithoutCancel(ctx)) // also when interrupted
	if err != nil {
		return msgErrs, errors.Join(fatal, err)
	}
	for _, u := range recs {
		if err := tx.POPRecord(acct, u); err != nil {
			tx.Rollback()
			return msgErrs, errors.Join(fatal, err)
		}
	}
	for _, id := range ids {
		if err := tx.DoneJournal(id); err != nil {
			tx.Rollback()
			return msgErrs, errors.Join(fatal, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return msgErrs, errors.Join(fatal, err)
	}
	for _, u := range recs {
		seen[u.UIDL] = u
		res.Fetched++
		failpoint.Hit("pop.after-record")
	}
	return msgErrs, fatal
}

// deliver streams message m into folder's new/ under key. On any error
// nothing is left in tmp/ or new/.
// The message is complete in tmp/ when it returns; the caller commits the
// delivery (fsync, rename into new/).
func (f *Fetcher) deliver(ctx context.Context, c *pop3.Client, folder *maildir.Folder, m srvMsg, key string, bw *bufio.Writer) (*maildir.Delivery, int64, error) {
	d, err := folder.NewDelivery(maildir.DeliverOpts{New: true, Key: key, TrustKey: true, NoDirSync: true})
	if err != nil {
		return nil, 0, err
	}
	rc, err := c.Retr(ctx, m.id)
	if err != nil {
		d.Abort()
		return nil, 0, classifyMsg(err)
	}
	cr := &countReader{r: rc}
	bw.Reset(d)
	_, err = io.Copy(bw, cr)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil && cr.n+cr.lf < m.size {
		err = fmt.Errorf("%w: got %d octets, LIST said %d", errShort, cr.n+cr.lf, m.size)
	}
	if err != nil {
		bw.Reset(nil)
		d.Abort()
		return nil, 0, classifyMsg(err)
	}
	bw.Reset(nil)
	return d, cr.n, nil
}

// classifyMsg keeps -ERR and short messages as they are and classifies
// transport failures.
func classifyMsg(err error) error {
	var pe *pop3.Error
	if errors.As(err, &pe) || errors.Is(err, errShort) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return pop3.Protocol.Classify(err)
}

// countReader counts the octets and line feeds read; octets + LFs is the
// size on the wire with CRLF line endings.
type countReader struct {
	r     io.Reader
	n, lf int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.lf += int64(bytes.Count(p[:n], []byte{'\n'}))
	return n, err
}
