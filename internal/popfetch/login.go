package popfetch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"

	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/internal/pop3"
	"github.com/mdsync/mdsync/internal/xoauth2"
)

// login authenticates as Options.Auth says: AuthAuto is OAuth2 for an
// account with a token, else USER/PASS, or AUTH PLAIN when CAPA lists SASL
// PLAIN but not USER.
func (f *Fetcher) login(ctx context.Context, c *pop3.Client, caps map[string][]string) error {
	if f.o.Token != nil {
		return f.loginOAuth(ctx, c, caps)
	}
	user, pass := f.o.User, f.o.Password
	auth := f.o.Auth
	if auth == AuthAuto {
		auth = AuthUser
		if _, hasUser := caps["USER"]; caps != nil && !hasUser && offers(caps, "PLAIN") {
			auth = AuthPlain
		}
	}
	var err error
	var how string
	switch auth {
	case AuthAPOP:
		how, err = "APOP", c.APOP(ctx, user, pass)
	case AuthPlain:
		how, err = "AUTH PLAIN", c.Auth(ctx, sasl.NewPlainClient("", user, pass))
	default:
		how, err = "USER/PASS", c.Login(ctx, user, pass)
	}
	if err == nil {
		f.mechanism = how
		return nil
	}
	var pe *pop3.Error
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %s as %s: %s", mailnet.ErrAuth, how, user, pe.Msg)
	}
	return fmt.Errorf("%s: %w", how, pop3.Protocol.Classify(err))
}

// offers reports whether CAPA lists the SASL mechanism.
func offers(caps map[string][]string, mech string) bool {
	for _, m := range caps["SASL"] {
		if strings.EqualFold(m, mech) {
			return true
		}
	}
	return false
}

// loginOAuth signs in with an OAuth2 access token; a refused token is
// refreshed once and tried again. XOAUTH2 unless Auth asks for OAUTHBEARER
// or, for AuthAuto, the server lists only OAUTHBEARER.
func (f *Fetcher) loginOAuth(ctx context.Context, c *pop3.Client, caps map[string][]string) error {
	bearer := f.o.Auth == AuthOAuthBearer ||
		(f.o.Auth != AuthXOAuth2 && offers(caps, "OAUTHBEARER") && !offers(caps, "XOAUTH2"))
	mech := "XOAUTH2"
	if bearer {
		mech = "OAUTHBEARER"
	}
	user := f.o.User
	var err error
	for _, refresh := range []bool{false, true} {
		var token string
		if token, err = f.o.Token(ctx, refresh); err != nil {
			return fmt.Errorf("AUTH %s as %s: get an access token: %w", mech, user, pop3.Protocol.Classify(err))
		}
		if f.trace != nil {
			f.trace.Add(token)
		}
		var sc sasl.Client = xoauth2.NewClient(user, token)
		if bearer {
			sc = sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: token, Host: f.o.Host, Port: f.o.Port})
		}
		if err = c.Auth(ctx, sc); err == nil {
			f.mechanism = "AUTH " + mech
			return nil
		}
		var pe *pop3.Error
		var be *sasl.OAuthBearerError // the server's OAUTHBEARER failure challenge
		if !errors.As(err, &pe) && !errors.As(err, &be) {
			return fmt.Errorf("AUTH %s: %w", mech, pop3.Protocol.Classify(err))
		}
	}
	return fmt.Errorf("%w: AUTH %s as %s: the server refused the access token: %v", mailnet.ErrAuth, mech, user, err)
}
