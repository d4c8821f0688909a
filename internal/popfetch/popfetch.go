// Package popfetch fetches the messages of a [pop.NAME] account one way into a
// Maildir folder's new/, exactly once, however often it runs and wherever it
// is killed.
//
// One run:
//
//  1. Recovery: every pending "pop-deliver" journal entry of the account is
//     finished (its file exists in the folder: the UIDL is recorded as
//     delivered) or forgotten (its tmp/ file, if any, is removed).
//  2. Connect (implicit TLS by default, STLS when tls = "starttls", plain
//     only as the configuration allows), log in, LIST and UIDL. A server
//     without UIDL gets a fingerprint of each message instead: "fp:" + the
//     hex SHA-256 of its TOP n 0 headers and its size (two messages with
//     identical headers and size are then one message: the second is skipped
//     with a warning).
//  3. Fetch, in batches: the intents of a batch (UIDL + the Maildir key the
//     message will get) are committed to the journal BEFORE any RETR; each
//     message is streamed from RETR into tmp/, fsynced and renamed into new/
//     (the directory fsync is deferred); after the batch new/ is fsynced and
//     ONE transaction records the UIDLs and removes the journal entries.
//  4. DELE only the messages whose UIDL is recorded as delivered and that the
//     delete policy selects; after QUIT succeeds they are marked "deleted".
//     UIDLs recorded earlier that are no longer on the server are pruned.
//
// A -ERR to RETR or a message shorter than the size LIST announced skips that
// message (nothing is left in new/, nothing recorded; it is tried again next
// run) and the run ends with an error after fetching the others. A transport
// failure (timeout, dropped connection, a body without its terminating dot)
// ends the run at once; what was delivered before is recorded.
package popfetch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/failpoint"
	"github.com/mdsync/mdsync/internal/pop3"
	"github.com/mdsync/mdsync/internal/transport"
	"github.com/mdsync/mdsync/internal/xoauth2"
	"github.com/mdsync/mdsync/maildir"
	"github.com/mdsync/mdsync/state"
)

// Batch limits: intents are journaled, and UIDLs recorded, per batch (one
// directory fsync and two commits per batch instead of per message). Tests
// change batchMessages.
var (
	batchMessages       = 128
	batchBytes    int64 = 32 << 20
)

// Fetcher fetches one POP account. Fill the fields and call Run.
type Fetcher struct {
	Name     string // the [pop.NAME]; the account key in the state
	Cfg      *config.POP
	Password string
	// Token returns an OAuth2 access token (refresh: a fresh one, after
	// the server refused the last); nil for an account with a password.
	Token func(ctx context.Context, refresh bool) (string, error)
	Store *maildir.Store // the [maildir.X] tree named by Cfg.Maildir
	DB    *state.DB
	// DryRun lists what would be fetched and deleted (Result.Plan) and
	// changes nothing: no RETR, no DELE, no state or Maildir writes.
	DryRun bool
	Log    func(format string, args ...any) // informational lines (nil = silent)
	Debug  io.Writer                        // protocol trace (redacted), nil = none
	Now    func() time.Time                 // nil = time.Now
	// Mechanism is how the last Dial logged in (USER/PASS, APOP, AUTH
	// PLAIN, AUTH XOAUTH2, AUTH OAUTHBEARER).
	Mechanism string
}

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

func (f *Fetcher) account() string {
	if f.Name != "" {
		return f.Name
	}
	return f.Cfg.Name
}

func (f *Fetcher) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Fetcher) logf(format string, args ...any) {
	if f.Log != nil {
		f.Log(format, args...)
	}
}

func (r *Result) warn(f *Fetcher, format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	r.Warnings = append(r.Warnings, s)
	f.logf("pop %s: %s", f.account(), s)
}

// deleteAfter returns the delete policy: -1 never, 0 after the fetch, >0 age.
// An unvalidated zero Cfg (Delete "") never deletes.
func (f *Fetcher) deleteAfter() time.Duration {
	c := f.Cfg
	if c.Delete == "" || c.Delete == "never" || c.DeleteAfter < 0 {
		return -1
	}
	return c.DeleteAfter
}

// Run performs one fetch. The error wraps transport.ErrTemporary (what may
// pass by itself), transport.ErrAuth (login refused) or transport.ErrTLS
// (certificate not trusted, TLS mode mismatch) where that applies. The Result is
// meaningful even with an error: it counts what was done before it.
func (f *Fetcher) Run(ctx context.Context) (Result, error) {
	var res Result
	acct := f.account()
	if f.Cfg == nil || f.Store == nil || f.DB == nil {
		return res, errors.New("popfetch: Cfg, Store and DB are required")
	}
	folderName := f.Cfg.Folder
	if folderName == "" {
		folderName = "INBOX"
	}
	var folder *maildir.Folder
	var err error
	if f.DryRun {
		folder, err = f.Store.Folder(folderName, '/')
	} else {
		folder, err = f.Store.CreateFolder(folderName, '/')
	}
	if err != nil {
		return res, fmt.Errorf("pop %s: folder %q: %w", acct, folderName, err)
	}

	seen, err := f.DB.POPSeen(ctx, acct)
	if err != nil {
		return res, fmt.Errorf("pop %s: %w", acct, err)
	}
	if err := f.recover(ctx, folder, seen, &res); err != nil {
		return res, fmt.Errorf("pop %s: recovery: %w", acct, err)
	}

	c, err := f.Dial(ctx)
	if err != nil {
		return res, fmt.Errorf("pop %s: %w", acct, err)
	}
	defer c.Close()
	msgs, err := f.listing(ctx, c, &res)
	if err != nil {
		return res, fmt.Errorf("pop %s: %w", acct, err)
	}
	onServer := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		onServer[m.uidl] = true
	}

	// What to fetch.
	var todo []srvMsg
	for _, m := range msgs {
		if _, ok := seen[m.uidl]; ok {
			continue
		}
		if f.Cfg.MaxSizeB > 0 && m.size > f.Cfg.MaxSizeB {
			res.Skipped++
			res.warn(f, "message %d (uidl %s) is %d bytes, over max_size %d: skipped (it is fetched once the limit allows)", m.id, m.uidl, m.size, f.Cfg.MaxSizeB)
			continue
		}
		if f.Cfg.MaxMessages > 0 && len(todo) >= f.Cfg.MaxMessages {
			res.Remaining++
			continue
		}
		todo = append(todo, m)
	}
	if res.Remaining > 0 {
		f.logf("pop %s: max_messages %d: %d new messages left for a later run", acct, f.Cfg.MaxMessages, res.Remaining)
	}

	// What would be deleted, by UIDL -> record; filled after the fetch.
	policy := f.deleteAfter()
	now := f.now()
	deletable := func(u state.UIDL) bool {
		switch {
		case policy < 0:
			return false
		case policy == 0:
			return true
		default:
			return !u.FirstSeen.After(now.Add(-policy))
		}
	}

	if f.DryRun {
		for _, m := range todo {
			res.Plan = append(res.Plan, fmt.Sprintf("fetch %d (uidl %s, %d bytes)", m.id, m.uidl, m.size))
		}
		fetching := make(map[string]bool, len(todo))
		for _, m := range todo {
			fetching[m.uidl] = true
		}
		for _, m := range msgs {
			u, ok := seen[m.uidl]
			if (ok && deletable(u)) || (fetching[m.uidl] && policy == 0) {
				res.Plan = append(res.Plan, fmt.Sprintf("delete %d (uidl %s)", m.id, m.uidl))
			}
		}
		for uidl := range seen {
			if !onServer[uidl] {
				res.Plan = append(res.Plan, fmt.Sprintf("forget uidl %s (gone from the server)", uidl))
			}
		}
		if err := c.Quit(ctx); err != nil {
			f.logf("pop %s: QUIT: %v", acct, err)
		}
		return res, nil
	}

	msgErrs, fetchErr := f.fetchAll(ctx, c, folder, todo, seen, &res)

	// Prune UIDLs that vanished from the server. seen holds what was known at
	// the start (plus recovered and newly delivered messages, which are all
	// on the server listing), so nothing recorded in this run is pruned.
	var gone []string
	for uidl := range seen {
		if !onServer[uidl] {
			gone = append(gone, uidl)
		}
	}

	// DELE what is safely delivered and selected by the policy; only when
	// the session is still healthy.
	var deleted []state.UIDL
	if fetchErr == nil && policy >= 0 {
		for _, m := range msgs {
			u, ok := seen[m.uidl]
			if !ok || !deletable(u) {
				continue
			}
			if err := c.Dele(ctx, m.id); err != nil {
				var pe *pop3.Error
				if errors.As(err, &pe) {
					res.warn(f, "DELE %d (uidl %s) refused: %s", m.id, m.uidl, pe.Msg)
					continue
				}
				fetchErr = fmt.Errorf("DELE %d (uidl %s): %w", m.id, m.uidl, transport.Classify(err))
				deleted = nil
				break
			}
			failpoint.Hit("pop.after-dele")
			u.Status = "deleted"
			deleted = append(deleted, u)
		}
	}
	quitErr := error(nil)
	if fetchErr == nil {
		quitErr = c.Quit(ctx)
		if quitErr != nil {
			if len(deleted) > 0 {
				quitErr = fmt.Errorf("QUIT (deletions may not have been committed): %w", transport.Classify(quitErr))
			} else {
				// Everything is recorded; a failing QUIT changes nothing.
				res.warn(f, "QUIT: %v", quitErr)
				quitErr = nil
			}
			deleted = nil
		}
	}
	if len(gone) > 0 || len(deleted) > 0 {
		tx, err := f.DB.BeginDurable(context.WithoutCancel(ctx)) // an interrupted run records what it did
		if err != nil {
			return res, fmt.Errorf("pop %s: %w", acct, err)
		}
		for _, uidl := range gone {
			if err := tx.POPForget(acct, uidl); err != nil {
				tx.Rollback()
				return res, fmt.Errorf("pop %s: %w", acct, err)
			}
		}
		for _, u := range deleted {
			if err := tx.POPRecord(acct, u); err != nil {
				tx.Rollback()
				return res, fmt.Errorf("pop %s: %w", acct, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return res, fmt.Errorf("pop %s: %w", acct, err)
		}
		res.Pruned, res.Deleted = len(gone), len(deleted)
	}
	if res.Fetched > 0 || res.Deleted > 0 || res.Pruned > 0 {
		f.logf("pop %s: fetched %d (%d bytes), deleted %d, pruned %d", acct, res.Fetched, res.Bytes, res.Deleted, res.Pruned)
	}
	switch {
	case fetchErr != nil:
		return res, fmt.Errorf("pop %s: %w", acct, fetchErr)
	case quitErr != nil:
		return res, fmt.Errorf("pop %s: %w", acct, quitErr)
	case len(msgErrs) > 0:
		return res, fmt.Errorf("pop %s: %d message(s) not fetched (tried again next run): %w", acct, len(msgErrs), errors.Join(msgErrs...))
	}
	return res, nil
}

// recover finishes or forgets the pending deliveries of the account. seen is
// updated with the UIDLs it records (in a dry run, only in memory).
func (f *Fetcher) recover(ctx context.Context, folder *maildir.Folder, seen map[string]state.UIDL, res *Result) error {
	acct := f.account()
	// the account's own entries: a POP delivery journals its UIDL in Arg
	// and the key it delivers under in Key
	pending, err := f.DB.Journal(ctx, state.POPOwner(acct))
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		return nil
	}
	// Which keys exist: a few lookups, or one scan of names.
	var exists func(key string) (bool, error)
	switch {
	case !folder.Exists():
		exists = func(string) (bool, error) { return false, nil }
	case len(pending) <= 4:
		exists = func(key string) (bool, error) {
			_, found, err := folder.Lookup(key)
			return found, err
		}
	default:
		names, _, err := folder.ScanNames()
		if err != nil {
			return err
		}
		exists = func(key string) (bool, error) {
			_, ok := names[key]
			return ok, nil
		}
	}
	var tx *state.Tx
	if !f.DryRun {
		if tx, err = f.DB.BeginDurable(ctx); err != nil {
			return err
		}
		defer tx.Rollback()
	}
	now := f.now()
	recorded, forgotten := 0, 0
	for _, e := range pending {
		uidl := e.Arg
		found, err := exists(e.Key)
		if err != nil {
			return err
		}
		if found {
			u := state.UIDL{UIDL: uidl, FirstSeen: now, DeliveredKey: e.Key, Status: "delivered"}
			if old, ok := seen[uidl]; ok {
				u.FirstSeen = old.FirstSeen
			}
			seen[uidl] = u
			recorded++
			if tx != nil {
				if err := tx.POPRecord(acct, u); err != nil {
					return err
				}
			}
		} else {
			forgotten++
		}
		if tx != nil {
			if !found {
				// An interrupted delivery's tmp file, if any.
				if err := os.Remove(filepath.Join(folder.Path(), "tmp", e.Key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			if err := tx.DoneJournal(e.ID); err != nil {
				return err
			}
		}
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	res.Recovered = recorded
	f.logf("pop %s: recovery: %d interrupted deliveries completed, %d forgotten", acct, recorded, forgotten)
	return nil
}

// Dial connects, secures and logs in as the account's config says (what
// Run does first, and what `mdsync check` tries).
func (f *Fetcher) Dial(ctx context.Context) (*pop3.Client, error) {
	c, caps, err := f.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := f.login(ctx, c, caps); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// connect dials and secures the connection as configured and returns the
// capabilities (after STLS; nil if the server has no CAPA).
func (f *Fetcher) connect(ctx context.Context) (*pop3.Client, map[string][]string, error) {
	cfg := f.Cfg
	addr := cfg.Addr()
	opts := pop3.Options{Timeout: cfg.TimeoutDur}
	if f.Debug != nil {
		opts.Debug = transport.Tagged(f.Debug, "[pop "+f.Name+"] ")
	}
	mode := cfg.TLS
	if mode == "" {
		mode = "implicit"
	}
	ep := transport.Endpoint{Proto: "POP3", Host: cfg.Host, Port: cfg.Port, TLS: mode, CAFile: cfg.CAFile}
	if mode != "none" {
		tc, err := transport.TLSConfig(ep)
		if err != nil {
			return nil, nil, err
		}
		opts.TLSConfig = tc
	} else if !cfg.AllowPlaintext && !config.IsLoopback(cfg.Host) {
		return nil, nil, fmt.Errorf("tls = \"none\" toward %s would send the password in clear text (set allow_plaintext = true)", cfg.Host)
	}
	var c *pop3.Client
	var err error
	switch mode {
	case "implicit":
		c, err = pop3.DialTLS(ctx, addr, opts)
	case "starttls", "none":
		c, err = pop3.Dial(ctx, addr, opts)
	default:
		return nil, nil, fmt.Errorf("tls must be implicit, starttls or none; not %q", mode)
	}
	if err != nil {
		stage := transport.Greeting // Dial reads the greeting
		if mode == "implicit" {
			stage = transport.Handshake
		}
		probe := func() bool { return transport.SpeaksTLS(ctx, addr, cfg.TimeoutDur) }
		return nil, nil, transport.Explain(err, ep, stage, probe)
	}
	caps, err := c.Capa(ctx)
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("CAPA: %w", transport.Classify(err))
	}
	if mode == "starttls" {
		if _, ok := caps["STLS"]; !ok {
			c.Close()
			return nil, nil, fmt.Errorf("%s does not offer STLS, but tls = \"starttls\" requires it", addr)
		}
		if err := c.StartTLS(ctx); err != nil {
			c.Close()
			return nil, nil, transport.Explain(err, ep, transport.StartTLS, nil)
		}
		if caps, err = c.Capa(ctx); err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("CAPA: %w", transport.Classify(err))
		}
	}
	return c, caps, nil
}

// login authenticates as configured: auto is OAuth2 for an account with a
// token (XOAUTH2 unless the server lists only OAUTHBEARER), else USER/PASS,
// or AUTH PLAIN when CAPA lists SASL PLAIN but not USER.
func (f *Fetcher) login(ctx context.Context, c *pop3.Client, caps map[string][]string) error {
	if f.Token != nil {
		return f.loginOAuth(ctx, c, caps)
	}
	user, pass := f.Cfg.User, f.Password
	var err error
	var how string
	switch f.Cfg.Auth {
	case "apop":
		how, err = "APOP", c.APOP(ctx, user, pass)
	case "plain":
		how, err = "AUTH PLAIN", c.Auth(ctx, sasl.NewPlainClient("", user, pass))
	case "user":
		how, err = "USER/PASS", c.Login(ctx, user, pass)
	default:
		_, hasUser := caps["USER"]
		hasPlain := false
		for _, m := range caps["SASL"] {
			if strings.EqualFold(m, "PLAIN") {
				hasPlain = true
			}
		}
		if caps != nil && !hasUser && hasPlain {
			how, err = "AUTH PLAIN", c.Auth(ctx, sasl.NewPlainClient("", user, pass))
		} else {
			how, err = "USER/PASS", c.Login(ctx, user, pass)
		}
	}
	if err == nil {
		f.Mechanism = how
		return nil
	}
	var pe *pop3.Error
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %s as %s: %s", transport.ErrAuth, how, user, pe.Msg)
	}
	return fmt.Errorf("%s: %w", how, transport.Classify(err))
}

// loginOAuth signs in with an OAuth2 access token; a refused token is
// refreshed once and tried again.
func (f *Fetcher) loginOAuth(ctx context.Context, c *pop3.Client, caps map[string][]string) error {
	mech := f.Cfg.Auth
	if mech == "" || mech == "auto" {
		mech = "xoauth2"
		bearerOnly := false
		for _, m := range caps["SASL"] {
			if strings.EqualFold(m, "OAUTHBEARER") {
				bearerOnly = true
			}
		}
		for _, m := range caps["SASL"] {
			if strings.EqualFold(m, "XOAUTH2") {
				bearerOnly = false
			}
		}
		if bearerOnly {
			mech = "oauthbearer"
		}
	}
	user := f.Cfg.User
	var err error
	for _, refresh := range []bool{false, true} {
		var token string
		if token, err = f.Token(ctx, refresh); err != nil {
			return fmt.Errorf("AUTH %s as %s: get an access token: %w", strings.ToUpper(mech), user, transport.Classify(err))
		}
		var sc sasl.Client = xoauth2.NewClient(user, token)
		if mech == "oauthbearer" {
			sc = sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: token, Host: f.Cfg.Host, Port: f.Cfg.Port})
		}
		if err = c.Auth(ctx, sc); err == nil {
			f.Mechanism = "AUTH " + strings.ToUpper(mech)
			return nil
		}
		var pe *pop3.Error
		var be *sasl.OAuthBearerError // the server's OAUTHBEARER failure challenge
		if !errors.As(err, &pe) && !errors.As(err, &be) {
			return fmt.Errorf("AUTH %s: %w", strings.ToUpper(mech), transport.Classify(err))
		}
	}
	return fmt.Errorf("%w: AUTH %s as %s: the server refused the access token: %v", transport.ErrAuth, strings.ToUpper(mech), user, err)
}

// listing returns the maildrop: LIST sizes with UIDLs (or fingerprints).
func (f *Fetcher) listing(ctx context.Context, c *pop3.Client, res *Result) ([]srvMsg, error) {
	list, err := c.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("LIST: %w", transport.Classify(err))
	}
	uidls := make(map[int]string, len(list))
	uids, err := c.UIDL(ctx)
	switch {
	case errors.Is(err, pop3.ErrNoUIDL):
		res.NoUIDL = true
		res.warn(f, "the server has no UIDL: messages are identified by a fingerprint of their headers and size")
		for _, m := range list {
			fp, err := fingerprint(ctx, c, m)
			if err != nil {
				return nil, fmt.Errorf("TOP %d 0: %w", m.ID, transport.Classify(err))
			}
			uidls[m.ID] = fp
		}
	case err != nil:
		return nil, fmt.Errorf("UIDL: %w", transport.Classify(err))
	default:
		for _, u := range uids {
			uidls[u.ID] = u.UID
		}
	}
	out := make([]srvMsg, 0, len(list))
	dup := make(map[string]bool, len(list))
	for _, m := range list {
		u, ok := uidls[m.ID]
		if !ok || u == "" {
			res.warn(f, "message %d has no unique-id: skipped", m.ID)
			continue
		}
		if dup[u] {
			res.warn(f, "message %d repeats unique-id %s: skipped", m.ID, u)
			continue
		}
		dup[u] = true
		out = append(out, srvMsg{id: m.ID, size: m.Size, uidl: u})
	}
	return out, nil
}

// fingerprint identifies a message of a server without UIDL: the SHA-256 of
// its headers (TOP n 0, line endings as LF) and its LIST size.
func fingerprint(ctx context.Context, c *pop3.Client, m pop3.MsgInfo) (string, error) {
	rc, err := c.Top(ctx, m.ID, 0)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(h, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "\x00%d", m.Size)
	return "fp:" + hex.EncodeToString(h.Sum(nil)), nil
}

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
	acct := f.account()
	keys := make([]string, len(batch))
	ids := make([]int64, len(batch))
	tx, err := f.DB.BeginDurable(ctx)
	if err != nil {
		return nil, err
	}
	for i, m := range batch {
		if keys[i], err = f.Store.NewKey(); err != nil {
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
	// and renamed into new/ in the background (several fsyncs in flight).
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sem  = make(chan struct{}, maildir.SyncsInFlight)
		cerr error
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
		rec := state.UIDL{UIDL: m.uidl, FirstSeen: now, DeliveredKey: keys[i], Status: "delivered"}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
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
		}()
		failpoint.Hit("pop.after-deliver")
	}
	wg.Wait()
	if cerr != nil {
		fatal = errors.Join(fatal, cerr)
	}

	// Make the renames durable, then record them and close the intents.
	if len(recs) > 0 {
		if err := folder.SyncDirs(); err != nil {
			return msgErrs, errors.Join(fatal, err)
		}
	}
	tx, err = f.DB.BeginDurable(context.WithoutCancel(ctx)) // also when interrupted
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
	return transport.Classify(err)
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
