// Package imapconn opens authenticated IMAP connections the way mdsync
// wants them: TLS verified (implicit or STARTTLS), a deadline on every
// wait, and a protocol trace with the credentials redacted. A password
// goes in the clear (tls = "none") only where the config's rule allowed it
// (mailnet.PlaintextAllowed, checked when the config is read).
package imapconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mdsync/mdsync/internal/mailnet"
)

// defaultTimeout bounds every wait when Options.Timeout is not set.
const defaultTimeout = 60 * time.Second

// Options say where and how to connect.
type Options struct {
	Host           string
	Port           int
	TLS            string // implicit (default) | starttls | none
	CAFile         string // extra trusted CA (PEM), e.g. for a self-signed server
	User, Password string
	Timeout        time.Duration // for every wait on the server
	Debug          io.Writer     // protocol trace (credentials redacted), or nil
	// UnilateralDataHandler receives EXISTS/EXPUNGE/FETCH pushed by the server.
	UnilateralDataHandler *imapclient.UnilateralDataHandler
	// Pipeline, if set, is called right after the login is sent, before
	// its answer, with the capabilities the server announced before the
	// login: commands it sends share the login's round trip. It must send
	// only what those capabilities allow (a server may announce more after
	// the login, but one that did not announce an extension may drop or
	// refuse input pipelined behind the login: Courier) and must not wait on
	// them (consume their results in a goroutine or after Dial).
	Pipeline func(c *imapclient.Client, preLogin imap.CapSet)
	// Auth is the mechanism: auto (default) | login | plain | xoauth2 |
	// oauthbearer (see chooseAuth).
	Auth string
	// Token returns an OAuth2 access token (refresh: a fresh one, after
	// the server refused the last); nil for an account with a password.
	Token func(ctx context.Context, refresh bool) (string, error)
}

// Conn is a logged-in connection.
type Conn struct {
	*imapclient.Client
	raw  net.Conn
	Caps imap.CapSet
	// Mechanism is how it logged in: LOGIN, PLAIN, XOAUTH2, OAUTHBEARER.
	Mechanism string
}

// Close logs out (unless the connection is already dead) and closes the
// connection.
func (c *Conn) Close() error {
	select {
	case <-c.Client.Closed():
	default:
		// LOGOUT is sent, not waited for: its answer changes nothing
		// and would cost a round trip on every run.
		c.Client.Logout()
	}
	c.raw.Close()
	return c.Client.Close()
}

// Abort closes the socket at once: pending commands fail. Safe to call with
// a literal being read.
func (c *Conn) Abort() { c.raw.Close() }

// Dial connects, secures and logs in. An OAuth2 login the server refuses is
// tried once more on a new connection with a freshly refreshed token (the
// stored one may have been revoked or expired early).
func Dial(ctx context.Context, o Options) (*Conn, error) {
	c, err := dial(ctx, o, false)
	var ae *authError
	if err != nil && o.Token != nil && errors.As(err, &ae) && (ae.mech == AuthXOAuth2 || ae.mech == AuthOAuthBearer) {
		return dial(ctx, o, true)
	}
	return c, err
}

func dial(ctx context.Context, o Options, refresh bool) (*Conn, error) {
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	mode, err := mailnet.ParseTLSMode(o.TLS)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", o.Host, err)
	}
	ep := mailnet.Endpoint{Proto: protocol, Host: o.Host, Port: o.Port, TLS: mode, CAFile: o.CAFile}
	addr := ep.Addr()
	tcfg, err := mailnet.TLSConfig(ep)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	conn, raw, err := mailnet.Dial(ctx, ep, tcfg, o.Timeout)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	dc := mailnet.NewDeadlineConn(conn, o.Timeout)
	opts := &imapclient.Options{UnilateralDataHandler: o.UnilateralDataHandler}
	var redact *mailnet.Redactor
	if o.Debug != nil {
		redact = newRedactor(o.Debug, o.User, o.Password)
		opts.DebugWriter = redact
	}
	var c *imapclient.Client
	if mode == mailnet.TLSStartTLS {
		opts.TLSConfig = tcfg
		c, err = imapclient.NewStartTLS(dc, opts)
		if err != nil {
			raw.Close()
			// NewStartTLS reads the greeting, then shakes hands
			stage := mailnet.StartTLS
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				stage = mailnet.Greeting
			}
			return nil, mailnet.Explain(err, ep, stage, mailnet.TLSProbe(ctx, ep, o.Timeout))
		}
	} else {
		c = imapclient.New(dc, opts)
	}
	closeAll := func() {
		raw.Close()
		c.Close()
	}
	fail := func(what string, err error) (*Conn, error) {
		closeAll()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", what, addr, ctx.Err())
		}
		return nil, Classify(fmt.Errorf("%s %s: %w", what, addr, err))
	}
	if err := c.WaitGreeting(); err != nil {
		closeAll()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("greeting from %s: %w", addr, ctx.Err())
		}
		return nil, mailnet.Explain(err, ep, mailnet.Greeting, mailnet.TLSProbe(ctx, ep, o.Timeout))
	}
	caps, err := capabilities(c)
	if err != nil {
		return fail("capabilities of", err)
	}
	mech, err := chooseAuth(o.Auth, caps, o.Token != nil, addr)
	if err != nil {
		closeAll()
		return nil, err
	}
	var token string
	if o.Token != nil {
		if token, err = o.Token(ctx, refresh); err != nil {
			closeAll()
			// a token endpoint that is away is temporary; a refresh
			// token the provider refused comes wrapped in ErrAuth
			return nil, Classify(fmt.Errorf("%s as %q: get an access token: %w", addr, o.User, err))
		}
	}
	var pipeline func(*imapclient.Client)
	if o.Pipeline != nil {
		pipeline = func(c *imapclient.Client) { o.Pipeline(c, caps) }
	}
	if err := authenticate(ctx, c, dc, redact, mech, o, token, pipeline); err != nil {
		var ie *imap.Error
		var be *sasl.OAuthBearerError // the server's OAUTHBEARER failure challenge
		if errors.As(err, &ie) || errors.As(err, &be) {
			closeAll()
			text := ""
			if ie != nil {
				text = ie.Text
			} else {
				text = fmt.Sprintf("token refused (%s)", be.Status)
			}
			return nil, &authError{fmt.Errorf("%w: %s as %q (%s): %s", ErrAuth, addr, o.User, strings.ToUpper(mech), text), mech}
		}
		return fail("login to", err)
	}
	caps, err = capabilities(c)
	if err != nil {
		return fail("capabilities of", err)
	}
	return &Conn{Client: c, raw: raw, Caps: caps, Mechanism: strings.ToUpper(mech)}, nil
}

// capabilities returns what the server announced in its greeting or its
// LOGIN answer, and asks (one more round trip) only when it did not.
func capabilities(c *imapclient.Client) (imap.CapSet, error) {
	if caps := c.Caps(); caps != nil {
		return caps, nil
	}
	return c.Capability().Wait()
}
