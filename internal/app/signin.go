package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mdsync/mdsync/internal/config"
	"github.com/mdsync/mdsync/internal/imapconn"
	"github.com/mdsync/mdsync/internal/mailnet"
	"github.com/mdsync/mdsync/internal/oauth"
)

// tokenFunc is how a connection asks for an OAuth2 access token; refresh
// asks for a new one after the server refused the last.
type tokenFunc func(ctx context.Context, refresh bool) (string, error)

// credentials returns what an account logs in with: a password, or for an
// OAuth2 account (oauth2 or token_command) a token source. key is the
// account's section ("imap.work", "pop.isp"): the name its tokens are
// stored under and the one `mdsync login` takes.
func credentials(cfg *config.Config, key string, s *config.Server) (string, tokenFunc, error) {
	switch {
	case s.TokenCommand != "":
		return "", func(ctx context.Context, _ bool) (string, error) {
			tok, err := oauth.CommandToken(ctx, s.TokenCommand)
			if err != nil {
				return "", fmt.Errorf("%s: %w", key, err)
			}
			return tok, nil
		}, nil
	case s.OAuth2 != nil:
		p, err := provider(s.OAuth2)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", key, err)
		}
		src := oauth.NewSource(p, tokenStore(cfg), key)
		return "", func(ctx context.Context, refresh bool) (string, error) {
			get := src.Token
			if refresh {
				get = src.Refresh
			}
			tok, err := get(ctx)
			switch {
			case errors.Is(err, oauth.ErrNeedLogin):
				// not temporary: nothing changes until the user signs in
				return "", fmt.Errorf("%w: %s: the OAuth2 sign-in is missing, revoked or expired; run: mdsync login %s", mailnet.ErrAuth, key, loginName(key))
			case err != nil && oauth.Temporary(err):
				return "", fmt.Errorf("%w: %s: %w", mailnet.ErrTemporary, key, err)
			case err != nil:
				return "", fmt.Errorf("%w: %s: %w", mailnet.ErrAuth, key, err)
			}
			return tok, nil
		}, nil
	}
	pw, err := s.Secret()
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", key, err)
	}
	return pw, nil, nil
}

// imapOptions are the connection settings of an IMAP account.
func imapOptions(a *config.IMAP, pw string, token tokenFunc) imapconn.Options {
	return imapconn.Options{Host: a.Host, Port: a.Port, TLS: a.TLS, CAFile: a.CAFile, User: a.User, Password: pw, Auth: a.Auth, Token: token, Timeout: a.TimeoutDur}
}

// loginName is what `mdsync login` takes for an account key: its name, or
// the whole key when an imap and a pop account share the name.
func loginName(key string) string {
	_, name, _ := strings.Cut(key, ".")
	return name
}

// tokenStore is where OAuth2 tokens live: state_dir/oauth.
func tokenStore(cfg *config.Config) oauth.Store {
	return oauth.Store{Dir: filepath.Join(cfg.StateDir, "oauth")}
}

// provider turns an account's oauth2 settings into an oauth.Provider; the
// client secret comes from client_secret_command when that is set.
func provider(o *config.OAuth2) (oauth.Provider, error) {
	secret := o.ClientSecret
	if o.ClientSecretCommand != "" {
		out, err := exec.Command("/bin/sh", "-c", o.ClientSecretCommand).Output()
		if err != nil {
			return oauth.Provider{}, fmt.Errorf("oauth2.client_secret_command failed: %v", err)
		}
		secret, _, _ = strings.Cut(string(out), "\n")
		secret = strings.TrimRight(secret, "\r")
	}
	var p oauth.Provider
	switch o.Provider {
	case "google":
		p = oauth.Google(o.ClientID, secret)
	case "microsoft":
		p = oauth.Microsoft(o.Tenant, o.ClientID, secret)
	default:
		p = oauth.Provider{Name: "custom", ClientID: o.ClientID, ClientSecret: secret, Flow: oauth.FlowLoopback}
		if o.AuthURL == "" {
			p.Flow = oauth.FlowDevice
		}
	}
	if o.AuthURL != "" {
		p.AuthURL = o.AuthURL
	}
	if o.TokenURL != "" {
		p.TokenURL = o.TokenURL
	}
	if o.DeviceAuthURL != "" {
		p.DeviceAuthURL = o.DeviceAuthURL
	}
	if len(o.Scopes) > 0 {
		p.Scopes = o.Scopes
	}
	if o.Flow != "" {
		p.Flow = o.Flow
	}
	return p, nil
}

// openBrowser is how `mdsync login` opens the sign-in page (tests replace
// it with an HTTP client that plays the browser).
var openBrowser = browser

// browser opens url where there is a display (xdg-open), else does nothing:
// the URL is printed either way.
func browser(url string) error {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return nil
	}
	return exec.Command("xdg-open", url).Start()
}
