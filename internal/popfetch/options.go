package popfetch

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// Options are one POP account, where its messages go and how a run
// behaves. The values are taken as given: the caller (the config) has
// checked them.
type Options struct {
	// Account is the account's name: its key in the state, its tag in
	// traces and messages.
	Account string

	Host    string
	Port    int
	TLS     mailnet.TLSMode // the zero value is implicit TLS
	CAFile  string          // extra trusted CA certificates (PEM), or ""
	Timeout time.Duration   // per network operation; <= 0 is pop3.DefaultTimeout

	User     string
	Auth     Auth
	Password string
	// Token returns an OAuth2 access token (refresh: a fresh one, after
	// the server refused the last); nil for an account with a password.
	Token func(ctx context.Context, refresh bool) (string, error)

	Store  *maildir.Store // the Maildir tree
	Folder string         // the folder of Store the messages go to; "" is INBOX
	DB     *state.DB

	Delete      DeletePolicy // the zero value leaves every message on the server
	MaxSize     int64        // a bigger message is skipped, in octets; 0: no limit
	MaxMessages int          // new messages fetched per run; 0: all

	// DryRun lists what would be fetched and deleted (Result.Plan) and
	// changes nothing: no RETR, no DELE, no state or Maildir writes.
	DryRun bool
	Log    func(format string, args ...any) // informational lines (nil = silent)
	Debug  io.Writer                        // protocol trace (redacted), nil = none
	Now    func() time.Time                 // nil = time.Now
}

// Auth is how an account logs in with a password; an account with a
// Token always uses OAuth2 (XOAUTH2, or OAUTHBEARER as chosen here or by
// what the server offers).
type Auth int

const (
	// AuthAuto: USER/PASS, or AUTH PLAIN when CAPA lists SASL PLAIN but
	// not USER; for OAuth2, XOAUTH2 unless the server lists only
	// OAUTHBEARER.
	AuthAuto Auth = iota
	AuthUser
	AuthAPOP
	AuthPlain
	AuthXOAuth2
	AuthOAuthBearer
)

// ParseAuth reads the config's spelling (auth = "..."); "" is AuthAuto.
func ParseAuth(s string) (Auth, error) {
	switch s {
	case "", "auto":
		return AuthAuto, nil
	case "user":
		return AuthUser, nil
	case "apop":
		return AuthAPOP, nil
	case "plain":
		return AuthPlain, nil
	case "xoauth2":
		return AuthXOAuth2, nil
	case "oauthbearer":
		return AuthOAuthBearer, nil
	}
	return 0, fmt.Errorf("auth must be auto, user, apop, plain, xoauth2 or oauthbearer; not %q", s)
}

// DeletePolicy says which fetched messages are deleted from the server.
// The zero value deletes none (leave on server).
type DeletePolicy struct {
	Enabled bool
	// After is how long after it was first seen a fetched message is
	// deleted; <= 0 deletes it in the run that fetched it.
	After time.Duration
}

// deletes reports whether a fetched message first seen at firstSeen is
// deleted by a run at now.
func (p DeletePolicy) deletes(firstSeen, now time.Time) bool {
	return p.Enabled && (p.After <= 0 || !firstSeen.After(now.Add(-p.After)))
}

// afterFetch reports whether the messages a run fetches are deleted in the
// same run.
func (p DeletePolicy) afterFetch() bool { return p.Enabled && p.After <= 0 }
