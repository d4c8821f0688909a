package oauth_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mdsync/mdsync/internal/oauth"
	"github.com/mdsync/mdsync/internal/oauth/oauthtest"
)

// loggedIn checks that account has a usable token that came from a sign-in.
func loggedIn(t *testing.T, prov *oauthtest.Provider, p oauth.Provider, st oauth.Store, account string) {
	t.Helper()
	tok, err := st.Load(account)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || time.Until(tok.Expiry) < 50*time.Minute {
		t.Errorf("saved token has refresh token %v, expiry %v", tok.RefreshToken != "", tok.Expiry)
	}
	at, err := oauth.NewSource(p, st, account).Token(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if user, active := prov.Introspect(at); !active || user != "alice" {
		t.Errorf("access token: user %q, active %v", user, active)
	}
}

func TestLoginLoopback(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []oauthtest.Option
		edit func(*oauth.Provider)
	}{
		{"public client", nil, nil},
		{"confidential client", []oauthtest.Option{oauthtest.WithClient("desktop-app", "cs-desktop-secret-123")}, nil},
		{"extra parameters", nil, func(p *oauth.Provider) {
			p.AuthParams = map[string]string{"access_type": "offline", "prompt": "consent"}
		}},
		{"default flow", nil, func(p *oauth.Provider) { p.Flow = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prov := oauthtest.Start(t, append(tc.opts, oauthtest.WithUser("alice"))...)
			p := prov.Config(oauth.FlowLoopback)
			if tc.edit != nil {
				tc.edit(&p)
			}
			st := newStore(t)
			var out lockedBuffer
			browse, visits := browser()
			if err := oauth.Login(testCtx(t), p, st, "work", &out, browse); err != nil {
				t.Fatal(err)
			}
			v := recv(t, visits, "browser visit")
			if v.err != nil || v.status != 200 || !strings.Contains(v.body, "You can close this window") {
				t.Errorf("the browser saw %d %q (%v)", v.status, v.body, v.err)
			}
			if !strings.HasPrefix(v.url, "http://127.0.0.1:") {
				t.Errorf("redirected to %s, want the loopback listener", v.url)
			}

			q := prov.LastAuthorize()
			if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 20 {
				t.Errorf("authorization request without PKCE S256 or state: %v", q)
			}
			if !regexp.MustCompile(`^http://127\.0\.0\.1:[0-9]+/$`).MatchString(q.Get("redirect_uri")) {
				t.Errorf("redirect_uri = %q", q.Get("redirect_uri"))
			}
			if q.Get("scope") != "mail offline_access" {
				t.Errorf("scope = %q", q.Get("scope"))
			}
			for k, want := range p.AuthParams {
				if q.Get(k) != want {
					t.Errorf("%s = %q, want %q", k, q.Get(k), want)
				}
			}
			text := out.String()
			if !strings.Contains(text, prov.Endpoints().AuthURL+"?") || !strings.Contains(text, "Signed in") {
				t.Errorf("out does not show the address and the result:\n%s", text)
			}
			if c := prov.Counts(); c.Exchanges != 1 || c.HeaderAuth != 0 {
				t.Errorf("counts %+v, want one exchange, client in the body", c)
			}
			loggedIn(t, prov, p, st, "work")
			tok, _ := st.Load("work")
			noSecrets(t, "out", text, tok.RefreshToken, tok.AccessToken, p.ClientSecret)
			noSecrets(t, "page", v.body, tok.RefreshToken, tok.AccessToken, p.ClientSecret)
		})
	}
}

func TestLoginLoopbackChecksState(t *testing.T) {
	prov := oauthtest.Start(t, oauthtest.WithUser("alice"))
	p := prov.Config(oauth.FlowLoopback)
	st := newStore(t)
	visits := make(chan visit, 4)
	browse := func(u string) error {
		resp, err := noRedirect.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		back, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			return err
		}
		// Another page feeds its own answer first, then a stray request.
		forged := *back
		q := forged.Query()
		q.Set("state", "forged-state")
		q.Set("code", "code-of-the-attacker")
		forged.RawQuery = q.Encode()
		visits <- get(http.DefaultClient, forged.String())
		visits <- get(http.DefaultClient, back.Scheme+"://"+back.Host+"/favicon.ico")
		visits <- get(http.DefaultClient, back.String())
		return nil
	}
	if err := oauth.Login(testCtx(t), p, st, "work", nil, browse); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{400, 404, 200} {
		if v := recv(t, visits, "visit"); v.status != want {
			t.Errorf("visit %d: %d %q (%v), want %d", i, v.status, v.body, v.err, want)
		}
	}
	loggedIn(t, prov, p, st, "work")
}

func TestLoginLoopbackDenied(t *testing.T) {
	prov := oauthtest.Start(t, oauthtest.WithDenial())
	st := newStore(t)
	browse, visits := browser()
	err := oauth.Login(testCtx(t), prov.Config(oauth.FlowLoopback), st, "work", nil, browse)
	var pe *oauth.ProviderError
	if !errors.As(err, &pe) || pe.Code != "access_denied" {
		t.Fatalf("err = %v, want access_denied", err)
	}
	if !strings.HasPrefix(err.Error(), "sign in work with the OAuth2 provider: ") {
		t.Errorf("%q does not say what failed", err)
	}
	if v := recv(t, visits, "visit"); v.status != 400 || !strings.Contains(v.body, "access_denied") {
		t.Errorf("the browser saw %d %q", v.status, v.body)
	}
	if _, err := st.Load("work"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a token was saved: %v", err)
	}
}

func TestLoginLoopbackExchangeFailureHoldsNoSecrets(t *testing.T) {
	const secret = "cs-desktop-secret-123"
	prov := oauthtest.Start(t, oauthtest.WithClient("desktop-app", secret), oauthtest.WithLeakyErrors())
	prov.FailNext(400, "bad request, you sent:") // the leaky body quotes the code and secret
	var code string
	visits := make(chan visit, 1)
	browse := func(u string) error {
		resp, err := noRedirect.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		back, _ := url.Parse(resp.Header.Get("Location"))
		code = back.Query().Get("code")
		visits <- get(http.DefaultClient, back.String())
		return nil
	}
	var out lockedBuffer
	err := oauth.Login(testCtx(t), prov.Config(oauth.FlowLoopback), newStore(t), "work", &out, browse)
	if err == nil || !strings.Contains(err.Error(), "exchange the authorization code") {
		t.Fatalf("err = %v, want the failed exchange", err)
	}
	v := recv(t, visits, "visit")
	if v.status != 400 {
		t.Errorf("the browser saw %d %q", v.status, v.body)
	}
	if code == "" {
		t.Fatal("no code in the redirect")
	}
	for where, s := range map[string]string{"error": errText(err), "page": v.body, "out": out.String()} {
		noSecrets(t, where, s, code, secret)
	}
}

func TestLoginLoopbackGivesUpAtTheDeadline(t *testing.T) {
	prov := oauthtest.Start(t)
	st := newStore(t)
	var out lockedBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := oauth.Login(ctx, prov.Config(oauth.FlowLoopback), st, "work", &out, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	m := regexp.MustCompile(`ssh -L ([0-9]+):127\.0\.0\.1:`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no port in the output:\n%s", out.String())
	}
	if c, err := net.Dial("tcp", "127.0.0.1:"+m[1]); err == nil {
		c.Close()
		t.Error("the loopback listener is still open after Login returned")
	}
	if _, err := st.Load("work"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a token was saved: %v", err)
	}
}

func TestLoginDevice(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []oauthtest.Option
		approve func(t *testing.T, prov *oauthtest.Provider) // plays the user, nil: nothing to do
		browse  bool                                         // the browse callback plays the user
		wantErr string
	}{
		{name: "approved", approve: func(t *testing.T, prov *oauthtest.Provider) {
			if err := prov.Approve(recv(t, prov.UserCodes(), "user code")); err != nil {
				t.Error(err)
			}
		}},
		{name: "approved in the browser", browse: true},
		{name: "approved at once", opts: []oauthtest.Option{oauthtest.WithAutoApprove()}},
		{name: "confidential client", opts: []oauthtest.Option{oauthtest.WithAutoApprove(), oauthtest.WithClient("app", "cs-app-secret-456")}},
		{name: "declined", wantErr: "declined", approve: func(t *testing.T, prov *oauthtest.Provider) {
			if err := prov.Deny(recv(t, prov.UserCodes(), "user code")); err != nil {
				t.Error(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prov := oauthtest.Start(t, append(tc.opts, oauthtest.WithUser("alice"))...)
			p := prov.Config(oauth.FlowDevice)
			st := newStore(t)
			var out lockedBuffer
			var browse func(string) error
			var visits <-chan visit
			if tc.browse {
				browse, visits = browser()
			}
			done := make(chan error, 1)
			go func() { done <- oauth.Login(testCtx(t), p, st, "work", &out, browse) }()
			if tc.approve != nil {
				tc.approve(t, prov)
			}
			err := recv(t, done, "end of Login")
			if tc.wantErr != "" {
				var pe *oauth.ProviderError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &pe) {
					t.Fatalf("err = %v, want %q from the provider", err, tc.wantErr)
				}
				if _, err := st.Load("work"); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a token was saved: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if visits != nil {
				if v := recv(t, visits, "visit"); v.status != 200 {
					t.Errorf("verification page: %d %q", v.status, v.body)
				}
			}
			text := out.String()
			m := regexp.MustCompile(`enter the code ([A-Z2-7]{4}-[A-Z2-7]{4})`).FindStringSubmatch(text)
			if m == nil || !strings.Contains(text, prov.URL()+"/device/verify") {
				t.Errorf("out does not show the code and address:\n%s", text)
			}
			if c := prov.Counts(); c.DeviceAuthorizations != 1 || c.DevicePolls < 1 || c.Exchanges != 1 {
				t.Errorf("counts %+v", c)
			}
			loggedIn(t, prov, p, st, "work")
			tok, _ := st.Load("work")
			noSecrets(t, "out", text, tok.AccessToken, tok.RefreshToken, p.ClientSecret)
		})
	}
}

func TestLoginRefusesBadProviders(t *testing.T) {
	prov := oauthtest.Start(t)
	good := prov.Config(oauth.FlowLoopback)
	for _, tc := range []struct {
		name    string
		edit    func(p *oauth.Provider)
		account string
		want    string
	}{
		{"no client ID", func(p *oauth.Provider) { p.ClientID = "" }, "work", "client ID is empty"},
		{"no token URL", func(p *oauth.Provider) { p.TokenURL = "" }, "work", "token URL is empty"},
		{"plain http", func(p *oauth.Provider) { p.TokenURL = "http://login.example.com/token" }, "work", "https://"},
		{"no authorization URL", func(p *oauth.Provider) { p.AuthURL = "" }, "work", "authorization URL is empty"},
		{"device flow without URL", func(p *oauth.Provider) { p.Flow = oauth.FlowDevice; p.DeviceAuthURL = "" }, "work", "device authorization URL"},
		{"unknown flow", func(p *oauth.Provider) { p.Flow = "oob" }, "work", `unknown OAuth2 flow "oob"`},
		{"google device flow", func(p *oauth.Provider) { p.Name = "google"; p.Flow = oauth.FlowDevice }, "work", "Gmail"},
		{"bad account name", func(*oauth.Provider) {}, "../x", "cannot name a token file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			tc.edit(&p)
			var out lockedBuffer
			browsed := false
			err := oauth.Login(testCtx(t), p, newStore(t), tc.account, &out, func(string) error { browsed = true; return nil })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if out.String() != "" || browsed {
				t.Errorf("Login started anyway: %q", out.String())
			}
		})
	}
}

func TestLoginDeviceGivesUpAtTheDeadline(t *testing.T) {
	prov := oauthtest.Start(t)
	st := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := oauth.Login(ctx, prov.Config(oauth.FlowDevice), st, "work", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no sign-in before") {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if _, err := st.Load("work"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a token was saved: %v", err)
	}
}
