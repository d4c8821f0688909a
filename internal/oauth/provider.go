package oauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// The sign-in flows Login knows.
const (
	// FlowLoopback is the authorization code grant with PKCE (S256), the
	// browser redirected to http://127.0.0.1:PORT/ (RFC 8252 section 7.3).
	FlowLoopback = "loopback"
	// FlowDevice is the device authorization grant (RFC 8628): the user
	// enters a code on any device with a browser.
	FlowDevice = "device"
)

// Provider is where and how an account signs in.
type Provider struct {
	Name         string // "google" | "microsoft" | "custom"; used in messages and checks
	ClientID     string
	ClientSecret string // may be empty (public clients, Microsoft)

	AuthURL, TokenURL, DeviceAuthURL string

	Scopes []string

	// Flow is FlowLoopback or FlowDevice; empty means FlowLoopback.
	Flow string

	// AuthStyle is how the client ID and secret travel to the token
	// endpoint. Unlike x/oauth2, the zero value means in the form body
	// (oauth2.AuthStyleInParams), not auto-detection: auto-detection sends
	// every failed request twice (header first, then body), so a refused
	// refresh token costs two requests and a single-use authorization code
	// is spent by the first try. Google and Microsoft both take the body
	// form; set oauth2.AuthStyleInHeader for a server that wants Basic.
	AuthStyle oauth2.AuthStyle

	// AuthParams are extra parameters of the authorization URL (loopback
	// flow), e.g. Google's access_type=offline.
	AuthParams map[string]string
}

// Google returns Google's endpoints with the Gmail scope
// https://mail.google.com/ and the loopback flow: Google refuses Gmail
// scopes in the device flow and has blocked the out-of-band flow since
// 2023. access_type=offline and prompt=consent make Google send a refresh
// token on every sign-in, not only the first one.
func Google(clientID, clientSecret string) Provider {
	return Provider{
		Name:          "google",
		ClientID:      clientID,
		ClientSecret:  clientSecret,
		AuthURL:       "https://accounts.google.com/o/oauth2/auth",
		TokenURL:      "https://oauth2.googleapis.com/token",
		DeviceAuthURL: "https://oauth2.googleapis.com/device/code",
		Scopes:        []string{"https://mail.google.com/"},
		Flow:          FlowLoopback,
		AuthStyle:     oauth2.AuthStyleInParams,
		AuthParams:    map[string]string{"access_type": "offline", "prompt": "consent"},
	}
}

// Microsoft returns the Microsoft identity platform (v2.0) endpoints of
// tenant ("common" when empty) with the scopes for IMAP and POP and
// offline_access (without which there is no refresh token), and the device
// flow; FlowLoopback works too.
func Microsoft(tenant, clientID, clientSecret string) Provider {
	if tenant == "" {
		tenant = "common"
	}
	base := "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0/"
	return Provider{
		Name:          "microsoft",
		ClientID:      clientID,
		ClientSecret:  clientSecret,
		AuthURL:       base + "authorize",
		TokenURL:      base + "token",
		DeviceAuthURL: base + "devicecode",
		Scopes: []string{
			"https://outlook.office.com/IMAP.AccessAsUser.All",
			"https://outlook.office.com/POP.AccessAsUser.All",
			"offline_access",
		},
		Flow:      FlowDevice,
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

// flow returns p.Flow with the default filled in.
func (p Provider) flow() string {
	if p.Flow == "" {
		return FlowLoopback
	}
	return p.Flow
}

// checkRefresh reports what keeps p from refreshing tokens.
func (p Provider) checkRefresh() error {
	if p.ClientID == "" {
		return errors.New("the OAuth2 client ID is empty")
	}
	return checkEndpoint("token URL", p.TokenURL)
}

// checkLogin reports what keeps p from running its sign-in flow.
func (p Provider) checkLogin() error {
	if err := p.checkRefresh(); err != nil {
		return err
	}
	switch p.flow() {
	case FlowLoopback:
		return checkEndpoint("authorization URL", p.AuthURL)
	case FlowDevice:
		if p.Name == "google" {
			return errors.New(`the device flow of Google does not allow Gmail scopes: use flow "loopback"`)
		}
		return checkEndpoint("device authorization URL", p.DeviceAuthURL)
	default:
		return fmt.Errorf("unknown OAuth2 flow %q (want %q or %q)", p.Flow, FlowLoopback, FlowDevice)
	}
}

// checkEndpoint insists on https, except on the loopback interface (test
// providers, local proxies): the token endpoint receives the client secret
// and the refresh token.
func checkEndpoint(what, raw string) error {
	if raw == "" {
		return fmt.Errorf("the OAuth2 %s is empty", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("the OAuth2 %s %q is not a URL", what, raw)
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("the OAuth2 %s %q must be an https:// URL", what, raw)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// config is p in x/oauth2's terms; redirect is the loopback redirect URI or
// empty.
func (p Provider) config(redirect string) *oauth2.Config {
	style := p.AuthStyle
	if style == oauth2.AuthStyleAutoDetect {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: p.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:       p.AuthURL,
			TokenURL:      p.TokenURL,
			DeviceAuthURL: p.DeviceAuthURL,
			AuthStyle:     style,
		},
		RedirectURL: redirect,
		Scopes:      p.Scopes,
	}
}

// authParams returns p.AuthParams as x/oauth2 options.
func (p Provider) authParams() []oauth2.AuthCodeOption {
	var opts []oauth2.AuthCodeOption
	for k, v := range p.AuthParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return opts
}

// String names the provider for messages: "Google", "Microsoft", or "the
// OAuth2 provider".
func (p Provider) String() string {
	switch p.Name {
	case "google":
		return "Google"
	case "microsoft":
		return "Microsoft"
	}
	return "the OAuth2 provider"
}
