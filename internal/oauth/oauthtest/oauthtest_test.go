package oauthtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mdsync/mdsync/internal/oauth/oauthtest"
)

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize runs /authorize with the challenge of verifier and returns the code.
func authorize(t *testing.T, p *oauthtest.Provider, redirect, verifier string) string {
	t.Helper()
	cfg := config(p, redirect)
	resp, err := noRedirect.Get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("state") != "st" {
		t.Fatalf("authorize: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func config(p *oauthtest.Provider, redirect string) *oauth2.Config {
	e := p.Endpoints()
	return &oauth2.Config{
		ClientID:    "mdsync-test-client",
		Endpoint:    oauth2.Endpoint{AuthURL: e.AuthURL, TokenURL: e.TokenURL, DeviceAuthURL: e.DeviceAuthURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: redirect,
		Scopes:      []string{"mail"},
	}
}

func errorCode(err error) string {
	if re, ok := err.(*oauth2.RetrieveError); ok {
		return re.ErrorCode
	}
	return ""
}

func TestExchangeChecks(t *testing.T) {
	const redirect = "http://127.0.0.1:9/"
	for _, tc := range []struct {
		name     string
		redirect string // of the exchange
		verifier func(good string) string
		reuse    bool
		want     string // error code, "" for success
	}{
		{"good", redirect, func(g string) string { return g }, false, ""},
		{"wrong verifier", redirect, func(string) string { return oauth2.GenerateVerifier() }, false, "invalid_grant"},
		{"no verifier", redirect, func(string) string { return "" }, false, "invalid_grant"},
		{"other redirect", "http://127.0.0.1:10/", func(g string) string { return g }, false, "invalid_grant"},
		{"code used twice", redirect, func(g string) string { return g }, true, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := oauthtest.Start(t)
			verifier := oauth2.GenerateVerifier()
			code := authorize(t, p, redirect, verifier)
			cfg := config(p, tc.redirect)
			if tc.reuse {
				if _, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier)); err != nil {
					t.Fatal(err)
				}
			}
			tok, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(tc.verifier(verifier)))
			if got := errorCode(err); got != tc.want || (tc.want == "" && err != nil) {
				t.Fatalf("Exchange: %v, want %q", err, tc.want)
			}
			if err == nil && (tok.RefreshToken == "" || tok.TokenType != "Bearer" || time.Until(tok.Expiry) < 50*time.Minute) {
				t.Errorf("token %+v", tok)
			}
		})
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	p := oauthtest.Start(t)
	e := p.Endpoints()
	for _, tc := range []struct {
		name   string
		query  url.Values
		status int
		errc   string // error= in the redirect
	}{
		{"unknown client", url.Values{"client_id": {"x"}, "redirect_uri": {"http://127.0.0.1:9/"}}, 400, ""},
		{"non-loopback redirect", url.Values{"client_id": {"mdsync-test-client"}, "redirect_uri": {"http://evil.example/"}}, 400, ""},
		{"no PKCE", url.Values{"client_id": {"mdsync-test-client"}, "redirect_uri": {"http://127.0.0.1:9/"}, "response_type": {"code"}}, 302, "invalid_request"},
		{"plain PKCE", url.Values{"client_id": {"mdsync-test-client"}, "redirect_uri": {"http://127.0.0.1:9/"}, "response_type": {"code"},
			"code_challenge": {"x"}, "code_challenge_method": {"plain"}}, 302, "invalid_request"},
	} {
		resp, err := noRedirect.Get(e.AuthURL + "?" + tc.query.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != tc.status || loc.Query().Get("error") != tc.errc {
			t.Errorf("%s: %d %q", tc.name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestRefreshRevokeExpireIntrospect(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.WithUser("alice"))
	cfg := config(p, "")
	tok := p.Mint()
	introspect := func(method, at string) map[string]any {
		var resp *http.Response
		var err error
		switch method {
		case "post":
			resp, err = http.PostForm(p.Endpoints().IntrospectURL, url.Values{"token": {at}})
		case "get":
			resp, err = http.Get(p.Endpoints().IntrospectURL + "?token=" + url.QueryEscape(at))
		case "auth":
			req, _ := http.NewRequest("GET", p.Endpoints().IntrospectURL, nil)
			req.Header.Set("Authorization", "Bearer "+at)
			resp, err = http.DefaultClient.Do(req)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, mode := range []string{"post", "get", "auth"} {
		m := introspect(mode, tok.AccessToken)
		if m["active"] != true || m["username"] != "alice" || m["exp"].(float64) < float64(time.Now().Unix()) {
			t.Errorf("introspection (%s) of a live token: %v", mode, m)
		}
	}
	if m := introspect("post", "at-unknown"); m["active"] != false || len(m) != 1 {
		t.Errorf("introspection of an unknown token: %v", m)
	}

	p.Expire()
	if m := introspect("post", tok.AccessToken); m["active"] != false {
		t.Errorf("introspection after Expire: %v", m)
	}
	nt, err := cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if m := introspect("post", nt.AccessToken); m["active"] != true {
		t.Errorf("refreshed token: %v", m)
	}
	if !p.Revoke(tok.RefreshToken) || p.Revoke("rt-unknown") {
		t.Error("Revoke does not report what it knew")
	}
	if m := introspect("post", nt.AccessToken); m["active"] != false {
		t.Errorf("access token after revoking its refresh token: %v", m)
	}
	_, err = cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if errorCode(err) != "invalid_grant" {
		t.Errorf("refresh with a revoked token: %v", err)
	}
	if c := p.Counts(); c.Refreshes != 1 || c.RefusedRefreshes != 1 || c.Introspections != 7 {
		t.Errorf("counts %+v", c)
	}
}

func TestClientAuthentication(t *testing.T) {
	for _, tc := range []struct {
		name   string
		style  oauth2.AuthStyle
		secret string
		ok     bool
	}{
		{"body", oauth2.AuthStyleInParams, "cs-good", true},
		{"header", oauth2.AuthStyleInHeader, "cs-good", true},
		{"wrong secret", oauth2.AuthStyleInParams, "cs-bad", false},
		{"no secret", oauth2.AuthStyleInParams, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := oauthtest.Start(t, oauthtest.WithClient("app", "cs-good"))
			tok := p.Mint()
			cfg := config(p, "")
			cfg.ClientID, cfg.ClientSecret, cfg.Endpoint.AuthStyle = "app", tc.secret, tc.style
			_, err := cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if (err == nil) != tc.ok || (!tc.ok && errorCode(err) != "invalid_client") {
				t.Errorf("refresh: %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestDeviceFlow(t *testing.T) {
	p := oauthtest.Start(t)
	cfg := config(p, "")
	da, err := cfg.DeviceAuth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if da.Interval != 1 || !strings.HasPrefix(da.VerificationURI, p.URL()) || da.UserCode != <-p.UserCodes() {
		t.Errorf("device authorization %+v", da)
	}
	if err := p.Approve("NOPE-NOPE"); err == nil {
		t.Error("Approve of an unknown code succeeded")
	}
	if err := p.Approve(da.UserCode); err != nil {
		t.Fatal(err)
	}
	if err := p.Deny(da.UserCode); err == nil {
		t.Error("Deny after Approve succeeded")
	}
	tok, err := cfg.DeviceAccessToken(t.Context(), da)
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("DeviceAccessToken: %v, %+v", err, tok)
	}
	if _, err := cfg.DeviceAccessToken(t.Context(), da); errorCode(err) != "invalid_grant" {
		t.Errorf("second DeviceAccessToken: %v, want invalid_grant (used)", err)
	}
}

func TestHold(t *testing.T) {
	p := oauthtest.Start(t)
	cfg := config(p, "")
	tok := p.Mint()
	arrived, release := p.Hold()
	done := make(chan error, 1)
	go func() {
		_, err := cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		done <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not arrive")
	}
	select {
	case err := <-done:
		t.Fatalf("the held request finished: %v", err)
	default:
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the released request did not finish")
	}
}
