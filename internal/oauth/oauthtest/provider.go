// Package oauthtest is a fake OAuth2 provider for tests: authorization
// code with PKCE, refresh, device authorization (RFC 8628) and token
// introspection (RFC 7662, as Dovecot's oauth2 passdb asks), on an
// httptest.Server at 127.0.0.1.
//
// Its rules are strict where a real provider is (single-use codes bound to
// client, redirect URI and PKCE challenge; revoked or unknown refresh
// tokens answered with invalid_grant) so that a client passing against it
// does the protocol right. Tests steer it with methods (Approve, Revoke,
// Expire, FailNext, Hold) and observe it with Counts, LastAuthorize and
// UserCodes, without sleeping.
package oauthtest

import (
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mdsync/mdsync/internal/oauth"
)

// Provider is a running fake provider.
type Provider struct {
	srv  *httptest.Server
	set  settings
	stop chan struct{} // closed by Close: held requests give up
	once sync.Once

	userCodes chan string

	mu       sync.Mutex
	codes    map[string]*authCode
	access   map[string]*accessToken
	refresh  map[string]*refreshToken
	devices  map[string]*device // by device code
	byUser   map[string]string  // user code -> device code
	counts   Counts
	lastAuth url.Values
	failures []failure
	gate     *gate
}

// Counts says what the provider has done, for assertions.
type Counts struct {
	Authorizations       int // GET /authorize answered with a code
	Exchanges            int // authorization codes exchanged for tokens
	Refreshes            int // refresh_token grants answered with a token
	RefusedRefreshes     int // refresh_token grants answered invalid_grant
	DeviceAuthorizations int // POST /device answered
	DevicePolls          int // device_code grants, pending or not
	TokenRequests        int // every POST /token
	HeaderAuth, BodyAuth int // token requests whose client came by Basic auth / in the body
	Introspections       int // introspection requests
}

// Endpoints are the provider's addresses.
type Endpoints struct {
	AuthURL, TokenURL, DeviceAuthURL, IntrospectURL string
}

type authCode struct {
	clientID, redirectURI, challenge, scope string
	expires                                 time.Time
	used                                    bool
}

type accessToken struct {
	user, scope string
	refresh     string // the refresh token it came from
	expires     time.Time
	revoked     bool
}

type refreshToken struct {
	user, scope string
	revoked     bool
}

type device struct {
	userCode, scope string
	expires         time.Time
	state           string // "pending", "approved", "denied", "used"
}

type failure struct {
	status int
	body   string
}

type gate struct {
	arrived  chan struct{}
	released chan struct{}
}

// Start runs a fake provider until the end of the test.
func Start(t testing.TB, opts ...Option) *Provider {
	t.Helper()
	p := &Provider{
		set:       defaults(),
		stop:      make(chan struct{}),
		userCodes: make(chan string, 64),
		codes:     map[string]*authCode{},
		access:    map[string]*accessToken{},
		refresh:   map[string]*refreshToken{},
		devices:   map[string]*device{},
		byUser:    map[string]string{},
	}
	for _, o := range opts {
		o(&p.set)
	}
	p.srv = httptest.NewServer(p.routes()) // 127.0.0.1:0
	t.Cleanup(p.Close)
	return p
}

// Close stops the server; later requests fail to connect, which is how
// tests get a network error. Held requests are let go first.
func (p *Provider) Close() {
	p.once.Do(func() {
		close(p.stop)
		p.srv.Close()
	})
}

// URL is the server's base address, http://127.0.0.1:PORT.
func (p *Provider) URL() string { return p.srv.URL }

// Endpoints returns the provider's addresses.
func (p *Provider) Endpoints() Endpoints {
	return Endpoints{
		AuthURL:       p.srv.URL + "/authorize",
		TokenURL:      p.srv.URL + "/token",
		DeviceAuthURL: p.srv.URL + "/device",
		IntrospectURL: p.srv.URL + "/introspect",
	}
}

// Config returns an oauth.Provider that signs in here with flow
// (oauth.FlowLoopback or oauth.FlowDevice) as the configured client.
func (p *Provider) Config(flow string) oauth.Provider {
	e := p.Endpoints()
	return oauth.Provider{
		Name:          "custom",
		ClientID:      p.set.clientID,
		ClientSecret:  p.set.clientSecret,
		AuthURL:       e.AuthURL,
		TokenURL:      e.TokenURL,
		DeviceAuthURL: e.DeviceAuthURL,
		Scopes:        []string{"mail", "offline_access"},
		Flow:          flow,
	}
}

// Mint issues a refresh token and an access token for the configured user
// without a sign-in, for tests that start from a stored token.
func (p *Provider) Mint() *oauth2.Token { return p.MintFor(p.set.user) }

// MintFor is Mint for another user.
func (p *Provider) MintFor(user string) *oauth2.Token {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.issueLocked(user, "mail offline_access", "", true).token()
}

// Introspect reports whether accessToken is active and whose it is, as the
// introspection endpoint would.
func (p *Provider) Introspect(accessToken string) (user string, active bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.access[accessToken]
	if a == nil || a.revoked || !time.Now().Before(a.expires) {
		return "", false
	}
	return a.user, true
}

// Revoke revokes a refresh token and the access tokens issued from it; it
// reports whether the token was known.
func (p *Provider) Revoke(refreshToken string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	rt := p.refresh[refreshToken]
	if rt == nil {
		return false
	}
	rt.revoked = true
	for _, a := range p.access {
		if a.refresh == refreshToken {
			a.revoked = true
		}
	}
	return true
}

// RevokeAll revokes every refresh and access token issued so far.
func (p *Provider) RevokeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rt := range p.refresh {
		rt.revoked = true
	}
	for _, a := range p.access {
		a.revoked = true
	}
}

// Expire ends every access token issued so far (they become inactive at
// the introspection endpoint); refresh tokens stay good.
func (p *Provider) Expire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for _, a := range p.access {
		a.expires = past
	}
}

// UserCodes receives the user code of every device authorization, in
// order, so a test can wait for the device flow to start and approve it.
func (p *Provider) UserCodes() <-chan string { return p.userCodes }

// Approve approves the device authorization with userCode, as the user
// would on the verification page.
func (p *Provider) Approve(userCode string) error { return p.decide(userCode, "approved") }

// Deny declines the device authorization with userCode.
func (p *Provider) Deny(userCode string) error { return p.decide(userCode, "denied") }

func (p *Provider) decide(userCode, state string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.devices[p.byUser[strings.ToUpper(userCode)]]
	if d == nil {
		return errors.New("oauthtest: unknown user code " + userCode)
	}
	if d.state != "pending" {
		return errors.New("oauthtest: user code " + userCode + " is " + d.state)
	}
	d.state = state
	return nil
}

// Counts returns what the provider has done so far.
func (p *Provider) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}

// LastAuthorize returns the query of the last /authorize request (nil if
// none), to check what the client asked for.
func (p *Provider) LastAuthorize() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastAuth
}

// FailNext makes the next token request be answered with status and body
// (JSON when body starts with "{", else text/html), before any check.
// Several calls queue up.
func (p *Provider) FailNext(status int, body string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = append(p.failures, failure{status, body})
}

// Hold makes token requests wait until release is called (or the provider
// closes). arrived gets a value for each request that starts waiting, so a
// test can make sure a refresh is in flight while other callers pile up.
func (p *Provider) Hold() (arrived <-chan struct{}, release func()) {
	g := &gate{arrived: make(chan struct{}, 64), released: make(chan struct{})}
	p.mu.Lock()
	p.gate = g
	p.mu.Unlock()
	var once sync.Once
	return g.arrived, func() {
		once.Do(func() {
			p.mu.Lock()
			if p.gate == g {
				p.gate = nil
			}
			p.mu.Unlock()
			close(g.released)
		})
	}
}

// issueLocked makes an access token (and, if withRefresh, a refresh token;
// else reuses rt) for user.
func (p *Provider) issueLocked(user, scope, rt string, withRefresh bool) *issued {
	if withRefresh {
		rt = "rt-" + rand.Text()
		p.refresh[rt] = &refreshToken{user: user, scope: scope}
	}
	at := "at-" + rand.Text()
	exp := time.Now().Add(p.set.expiry)
	p.access[at] = &accessToken{user: user, scope: scope, refresh: rt, expires: exp}
	out := &issued{access: at, expires: exp, lifetime: p.set.expiry, scope: scope}
	if withRefresh {
		out.refresh = rt
	}
	return out
}

// issued is a token answer.
type issued struct {
	access, refresh, scope string
	expires                time.Time
	lifetime               time.Duration
}

func (i *issued) token() *oauth2.Token {
	return &oauth2.Token{AccessToken: i.access, TokenType: "Bearer", RefreshToken: i.refresh, Expiry: i.expires}
}

// expiresIn is the lifetime in whole seconds, at least 1 (0 would mean
// "no expiry" to clients).
func (i *issued) expiresIn() int64 {
	s := int64((i.lifetime + time.Second - 1) / time.Second)
	return max(s, 1)
}
