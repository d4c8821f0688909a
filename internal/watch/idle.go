package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// ErrNoIdle is returned by IdleWatcher.Run when the server has no IDLE:
// the folder is then left to the poll.
var ErrNoIdle = errors.New("the server has no IDLE")

// DefaultRenew is how often an IDLE is ended and issued again. RFC 2177
// lets a server log a client out after 30 minutes of IDLE (29 is the
// usual limit a client keeps under); renewing well before that also keeps
// NAT tables and read deadlines from expiring on a quiet folder.
const DefaultRenew = 14 * time.Minute

// Dialer opens a logged-in connection whose unsolicited server data goes
// to h. Its read timeout must be longer than the watcher's Renew: a quiet
// IDLE reads nothing until then.
type Dialer func(ctx context.Context, h *imapclient.UnilateralDataHandler) (*imapclient.Client, error)

// IdleWatcher keeps one IDLE connection on one folder and sends a trigger
// each time the server reports a change there (EXISTS, EXPUNGE, FETCH).
// When the connection is lost it dials again with back-off, and once back
// asks for a full pass of the target: what changed while it was away is
// not known.
type IdleWatcher struct {
	Target string
	Folder string // the name triggers carry
	// Mailbox is the name to EXAMINE on the server; empty: Folder.
	Mailbox string
	// Locate, if set, finds the name to EXAMINE on each new connection
	// instead (a folder below a namespace prefix the server announces).
	Locate func(ctx context.Context, c *imapclient.Client) (string, error)
	Dial   Dialer
	Renew  time.Duration // default DefaultRenew
	// BackoffMin and BackoffMax bound the wait between tries to connect
	// (default 1 s and 5 min).
	BackoffMin, BackoffMax time.Duration
	// Log, if set, is told of lost connections and retries.
	Log func(format string, args ...any)

	kickOnce sync.Once
	kick     chan struct{}
}

// errKicked ends a session on Reconnect.
var errKicked = errors.New("reconnect asked")

// Reconnect drops the connection and dials again at once (after a wake-up
// from suspend the old one is likely dead without knowing it). It does not
// wait.
func (w *IdleWatcher) Reconnect() {
	select {
	case w.kicker() <- struct{}{}:
	default: // one is already asked for
	}
}

func (w *IdleWatcher) kicker() chan struct{} {
	w.kickOnce.Do(func() { w.kick = make(chan struct{}, 1) })
	return w.kick
}

// Run watches until ctx is done (then it returns nil) or the server turns
// out to have no IDLE (ErrNoIdle).
func (w *IdleWatcher) Run(ctx context.Context, out chan<- Trigger) error {
	kick := w.kicker()
	b := &Backoff{Min: w.BackoffMin, Max: w.BackoffMax}
	everConnected := false
	for {
		connected, err := w.session(ctx, out, b, everConnected)
		everConnected = everConnected || connected
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrNoIdle) {
			return fmt.Errorf("watch %s: %w", w.mailbox(), err)
		}
		if errors.Is(err, errKicked) {
			continue
		}
		wait := b.Next()
		w.logf("IDLE on %s: %v; connecting again in %v", w.mailbox(), err, wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-kick:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
		t.Stop()
	}
}

func (w *IdleWatcher) mailbox() string {
	if w.Mailbox != "" {
		return w.Mailbox
	}
	return w.Folder
}

func (w *IdleWatcher) logf(format string, args ...any) {
	if w.Log != nil {
		w.Log(format, args...)
	}
}

// session runs one connection until it is lost, kicked or ctx is done;
// connected tells whether it got as far as idling.
func (w *IdleWatcher) session(ctx context.Context, out chan<- Trigger, b *Backoff, reconnect bool) (connected bool, err error) {
	changed := make(chan struct{}, 1)
	note := func() {
		select {
		case changed <- struct{}{}:
		default: // one is already waiting to be sent
		}
	}
	// The handlers run in the client's reader goroutine: they only note.
	h := &imapclient.UnilateralDataHandler{
		Expunge: func(uint32) { note() },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				note()
			}
		},
		Fetch: func(m *imapclient.FetchMessageData) {
			for m.Next() != nil { // the message must be read for the client to go on
			}
			note()
		},
	}
	c, err := w.Dial(ctx, h)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	// Every wait below ends when ctx does: closing the connection fails
	// whatever command is pending.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	caps := c.Caps()
	if caps == nil {
		return false, fmt.Errorf("capabilities: connection lost")
	}
	if !caps.Has(imap.CapIdle) && !caps.Has(imap.CapIMAP4rev2) {
		return false, ErrNoIdle
	}
	mailbox := w.mailbox()
	if w.Locate != nil {
		if mailbox, err = w.Locate(ctx, c); err != nil {
			return false, fmt.Errorf("locate %s: %w", w.Folder, err)
		}
	}
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return false, fmt.Errorf("examine %s: %w", mailbox, err)
	}
	// What changed before the EXAMINE was seen by no one: ask for it.
	t := Trigger{Target: w.Target, Folders: []string{w.Folder}, Source: SourceConnect}
	if reconnect {
		t = Trigger{Target: w.Target, Full: true, Source: SourceConnect}
	}
	if !send(ctx, out, t) {
		return false, nil
	}
	renew := w.Renew
	if renew <= 0 {
		renew = DefaultRenew
	}
	kick := w.kicker()
	for {
		idle, err := c.Idle()
		if err != nil {
			return connected, fmt.Errorf("IDLE: %w", err)
		}
		if !connected {
			connected = true
			b.Reset()
		}
		timer := time.NewTimer(renew)
		renewed := false
		for !renewed {
			select {
			case <-changed:
				if !send(ctx, out, Trigger{Target: w.Target, Folders: []string{w.Folder}, Source: SourceIdle}) {
					timer.Stop()
					return connected, nil
				}
			case <-timer.C:
				renewed = true
			case <-c.Closed():
				timer.Stop()
				return connected, errors.New("connection lost")
			case <-kick:
				timer.Stop()
				return connected, errKicked
			case <-ctx.Done():
				timer.Stop()
				return connected, nil
			}
		}
		// DONE, its answer, and IDLE again: also a check that the
		// server is still there.
		if err := idle.Close(); err != nil {
			return connected, fmt.Errorf("end IDLE: %w", err)
		}
		if err := idle.Wait(); err != nil {
			return connected, fmt.Errorf("end IDLE: %w", err)
		}
	}
}
