package imapconn

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/internal/xoauth2"
)

// Mechanisms, as the config names them.
const (
	AuthAuto        = "auto"
	AuthLogin       = "login"
	AuthPlain       = "plain"
	AuthXOAuth2     = "xoauth2"
	AuthOAuthBearer = "oauthbearer"
)

// chooseAuth picks how to log in: the configured mechanism, checked against
// what the server offers, or for "auto" the best it offers — OAuth2
// (XOAUTH2, else OAUTHBEARER) for an account with a token, else AUTHENTICATE
// PLAIN, else LOGIN. A server that announces LOGINDISABLED takes no
// password over this connection.
func chooseAuth(auth string, caps imap.CapSet, oauth bool, addr string) (string, error) {
	has := func(m string) bool { return caps.Has(imap.Cap("AUTH=" + strings.ToUpper(m))) }
	offered := func() string {
		var ms []string
		for c := range caps {
			if s := string(c); strings.HasPrefix(strings.ToUpper(s), "AUTH=") {
				ms = append(ms, strings.ToUpper(s[5:]))
			}
		}
		sort.Strings(ms)
		if !caps.Has(imap.CapLoginDisabled) {
			ms = append(ms, "LOGIN (the command)")
		}
		if len(ms) == 0 {
			return "nothing"
		}
		return strings.Join(ms, ", ")
	}
	missing := func(m string) error {
		return fmt.Errorf("%w: %s does not offer %s; it offers %s (set auth to one of those)", ErrAuth, addr, strings.ToUpper(m), offered())
	}
	if auth == "" {
		auth = AuthAuto
	}
	switch auth {
	case AuthAuto:
		switch {
		case oauth && has(AuthXOAuth2):
			return AuthXOAuth2, nil
		case oauth && has(AuthOAuthBearer):
			return AuthOAuthBearer, nil
		case oauth:
			return "", fmt.Errorf("%w: %s offers no OAuth2 mechanism (XOAUTH2, OAUTHBEARER); it offers %s", ErrAuth, addr, offered())
		case caps.Has(imap.CapLoginDisabled) && !has(AuthPlain):
			return "", fmt.Errorf("%w: %s refuses LOGIN on this connection (LOGINDISABLED) and offers %s; use tls = \"implicit\" or \"starttls\"", ErrAuth, addr, offered())
		case has(AuthPlain):
			return AuthPlain, nil
		}
		return AuthLogin, nil
	case AuthLogin:
		if caps.Has(imap.CapLoginDisabled) {
			return "", fmt.Errorf("%w: %s refuses LOGIN on this connection (LOGINDISABLED); use tls = \"implicit\" or \"starttls\", or auth = one of %s", ErrAuth, addr, offered())
		}
		return AuthLogin, nil
	case AuthPlain, AuthXOAuth2, AuthOAuthBearer:
		if !has(auth) {
			return "", missing(auth)
		}
		return auth, nil
	}
	return "", fmt.Errorf("unknown auth %q", auth)
}

// saslClient builds the SASL client of a mechanism and returns the initial
// response it sends, for the trace's redactor.
func saslClient(mech string, o Options, token string) (sasl.Client, []byte) {
	switch mech {
	case AuthPlain:
		return sasl.NewPlainClient("", o.User, o.Password), []byte("\x00" + o.User + "\x00" + o.Password)
	case AuthXOAuth2:
		return xoauth2.NewClient(o.User, token), xoauth2.InitialResponse(o.User, token)
	default: // OAUTHBEARER
		c := sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: o.User, Token: token, Host: o.Host, Port: o.Port})
		_, ir, _ := c.Start()
		return c, ir
	}
}

// authenticate logs in with mech. pipeline, if set, runs once the command
// is on its way (written), before its answer: commands it sends share the
// login's round trip, as they do with LOGIN.
func authenticate(ctx context.Context, c *imapclient.Client, dc *mailnet.DeadlineConn, redact *mailnet.Redactor, mech string, o Options, token string, pipeline func(*imapclient.Client)) error {
	if mech == AuthLogin {
		cmd := c.Login(o.User, o.Password)
		if pipeline != nil {
			pipeline(c)
		}
		return cmd.Wait()
	}
	sc, ir := saslClient(mech, o, token)
	if redact != nil {
		redact.Add(token, base64.StdEncoding.EncodeToString(ir))
	}
	if pipeline == nil {
		return c.Authenticate(sc)
	}
	written := dc.NotifyWrite()
	done := make(chan error, 1)
	go func() { done <- c.Authenticate(sc) }()
	select {
	case <-written:
		pipeline(c)
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	return <-done
}
