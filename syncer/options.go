package syncer

import (
	"context"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// Options configure one run of a channel. internal/app builds them from the
// config; the engine reads no configuration of its own.
type Options struct {
	Name    string   // the channel: owner of its state and journal
	Folders []string // the folder patterns the channel syncs
	// Only, if set, narrows the run to these folders (watch mode: the
	// folders an event named) and those a server-side move may link them
	// to (see channelRun.narrow); the others are left as they are.
	Only   []string
	Create Sides // where a folder new on the other side is created
	Remove Sides // where a folder deleted on the other side is deleted
	Policy Policy
	Server Server
	Store  *maildir.Store
	DB     *state.DB
	DryRun bool
	// ForceDelete names the folders whose mass-deletion guard and
	// UIDVALIDITY hold are lifted for this run.
	ForceDelete map[string]bool
	Log         func(format string, args ...any) // progress lines (nil: silent)
	// Trace receives timing events (nil: none), for MDSYNC_TIMING.
	Trace func(format string, args ...any)
	// Progress, if set, counts the work as it goes (a progress display).
	Progress *Progress

	ns namespace // set by Run: channel folder names <-> server names
}

// Server is how the engine reaches the channel's IMAP account.
type Server struct {
	// Key names the account in the state (its remembered capabilities).
	Key            string
	MaxConnections int
	// Prefix overrides the personal namespace the server reports (nil: use
	// NAMESPACE).
	Prefix *string
	// Dial opens one logged-in connection; withLogin, if set, is called
	// right after the login is sent, to pipeline commands behind it.
	Dial Dialer
}

// Dialer opens one logged-in connection (see Server.Dial).
type Dialer func(ctx context.Context, withLogin func(c *imapclient.Client, preLogin imap.CapSet)) (*imapconn.Conn, error)

// Sides says on which sides of a channel a folder-level or message-level
// change is applied: none, the server ("imap"), the maildir, or both.
type Sides uint8

// The values of Sides.
const (
	SidesNone   Sides = 0
	SidesServer Sides = 1
	SidesLocal  Sides = 2
	SidesBoth   Sides = SidesServer | SidesLocal
)

// Server tells whether s includes the server.
func (s Sides) Server() bool { return s&SidesServer != 0 }

// Local tells whether s includes the maildir.
func (s Sides) Local() bool { return s&SidesLocal != 0 }

// String is the config's word for s.
func (s Sides) String() string {
	switch s {
	case SidesServer:
		return "imap"
	case SidesLocal:
		return "maildir"
	case SidesBoth:
		return "both"
	}
	return "none"
}

func (o Options) tracef(format string, args ...any) {
	if o.Trace != nil {
		o.Trace(format, args...)
	}
}

// only tells whether a run narrowed by Only includes folder name.
func (o Options) only(name string) bool {
	if o.Only == nil {
		return true
	}
	for _, n := range o.Only {
		if n == name {
			return true
		}
	}
	return false
}
