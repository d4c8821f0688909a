package popfetch

import (
	"fmt"
	"time"

	"github.com/mdsync/mdsync/internal/mailnet"
)

// Fetcher fetches one POP account as its Options say.
type Fetcher struct {
	o         Options
	trace     *mailnet.Redactor // the trace of the current connection, or nil
	mechanism string
}

// New returns the Fetcher of an account.
func New(o Options) *Fetcher { return &Fetcher{o: o} }

// Mechanism is how the last Dial logged in: USER/PASS, APOP, AUTH PLAIN,
// AUTH XOAUTH2, AUTH OAUTHBEARER.
func (f *Fetcher) Mechanism() string { return f.mechanism }

// Result counts what a run did. In a dry run Fetched, Deleted, Pruned and
// Bytes stay zero and Plan lists what would be done.
type Result struct {
	// Arrived are the files of the messages delivered, for hooks and --json.
	Arrived   []string
	Fetched   int
	Deleted   int
	Skipped   int // over max_size; fetched once the limit allows
	Pruned    int // UIDLs forgotten because they vanished from the server
	Remaining int // new messages left for a later run by max_messages
	Recovered int // interrupted deliveries found complete and recorded
	Bytes     int64
	Plan      []string // dry run: "fetch 3 (uidl X, 1234 bytes)", "delete 5 (uidl Y)"
	NoUIDL    bool     // the server had no UIDL; header fingerprints were used
	Warnings  []string
}

// srvMsg is one message of the maildrop in this session.
type srvMsg struct {
	id   int
	size int64
	uidl string
}

func (f *Fetcher) now() time.Time {
	if f.o.Now != nil {
		return f.o.Now()
	}
	return time.Now()
}

func (f *Fetcher) logf(format string, args ...any) {
	if f.o.Log != nil {
		f.o.Log(format, args...)
	}
}

func (r *Result) warn(f *Fetcher, format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.Warnings = append(r.Warnings, s)
	f.logf("pop %s: %s", f.o.Account, s)
}
