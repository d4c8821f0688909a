package oauth_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mdsync/mdsync/internal/oauth"
	"github.com/mdsync/mdsync/internal/oauth/oauthtest"
)

// stored saves a token minted by prov, changed by edit, as account's.
func stored(t *testing.T, prov *oauthtest.Provider, st oauth.Store, account string, edit func(*oauth2.Token)) *oauth2.Token {
	t.Helper()
	tok := prov.Mint()
	if edit != nil {
		edit(tok)
	}
	if err := st.Save(account, tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSourceRefreshesWhenAMinuteOrLessIsLeft(t *testing.T) {
	for _, tc := range []struct {
		name        string
		edit        func(*oauth2.Token)
		wantRefresh bool
	}{
		{"an hour left", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(time.Hour) }, false},
		{"two minutes left", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(2 * time.Minute) }, false},
		{"thirty seconds left", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(30 * time.Second) }, true},
		{"expired", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(-time.Hour) }, true},
		{"no expiry", func(tk *oauth2.Token) { tk.Expiry = time.Time{} }, false},
		{"no access token", func(tk *oauth2.Token) { tk.AccessToken = "" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prov := oauthtest.Start(t)
			st := newStore(t)
			old := stored(t, prov, st, "work", tc.edit)
			src := oauth.NewSource(prov.Config(oauth.FlowLoopback), st, "work")

			for range 2 { // the second call reuses whatever the first got
				at, err := src.Token(testCtx(t))
				if err != nil {
					t.Fatal(err)
				}
				if tc.wantRefresh == (at == old.AccessToken) {
					t.Errorf("Token = %.10s..., stored %.10s...; want refresh %v", at, old.AccessToken, tc.wantRefresh)
				}
				if _, active := prov.Introspect(at); !active {
					t.Errorf("Token returned an inactive access token")
				}
			}
			want := 0
			if tc.wantRefresh {
				want = 1
			}
			if c := prov.Counts(); c.Refreshes != want || c.TokenRequests != want {
				t.Errorf("refreshes = %d, token requests = %d, want %d", c.Refreshes, c.TokenRequests, want)
			}
			if c := prov.Counts(); c.HeaderAuth != 0 {
				t.Errorf("%d token requests used Basic auth, want the body (no auto-detection)", c.HeaderAuth)
			}
			if tc.wantRefresh {
				saved, err := st.Load("work")
				if err != nil {
					t.Fatal(err)
				}
				if saved.AccessToken == old.AccessToken || saved.RefreshToken != old.RefreshToken || time.Until(saved.Expiry) < 50*time.Minute {
					t.Errorf("saved %+v after the refresh; want the new access token, the old refresh token, an hour", saved)
				}
			}
		})
	}
}

func TestSourceShortExpiryRefreshesEveryTime(t *testing.T) {
	prov := oauthtest.Start(t, oauthtest.WithExpiry(2*time.Second))
	st := newStore(t)
	stored(t, prov, st, "work", nil)
	src := oauth.NewSource(prov.Config(oauth.FlowDevice), st, "work")
	seen := map[string]bool{}
	for range 3 {
		at, err := src.Token(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		seen[at] = true
	}
	if len(seen) != 3 || prov.Counts().Refreshes != 3 {
		t.Errorf("%d distinct tokens, %d refreshes; want 3 and 3 (2 s < one minute)", len(seen), prov.Counts().Refreshes)
	}
}

func TestSourceRefreshTokenRotation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []oauthtest.Option
		rotate bool
	}{
		{"not rotated: kept", nil, false},
		{"rotated: replaced", []oauthtest.Option{oauthtest.WithRotation()}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prov := oauthtest.Start(t, tc.opts...)
			st := newStore(t)
			old := stored(t, prov, st, "work", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(-time.Minute) })
			src := oauth.NewSource(prov.Config(oauth.FlowLoopback), st, "work")
			for i := range 3 { // later refreshes must use the refresh token that is good now
				if _, err := src.Refresh(testCtx(t)); err != nil {
					t.Fatalf("refresh %d: %v", i, err)
				}
			}
			saved, err := st.Load("work")
			if err != nil {
				t.Fatal(err)
			}
			if rotated := saved.RefreshToken != old.RefreshToken; rotated != tc.rotate || saved.RefreshToken == "" {
				t.Errorf("stored refresh token changed: %v, want %v (and not empty)", rotated, tc.rotate)
			}
			if c := prov.Counts(); c.Refreshes != 3 || c.RefusedRefreshes != 0 {
				t.Errorf("counts %+v, want 3 refreshes, none refused", c)
			}
		})
	}
}

func TestSourceOneRefreshForConcurrentCallers(t *testing.T) {
	prov := oauthtest.Start(t)
	st := newStore(t)
	stored(t, prov, st, "work", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(-time.Minute) })
	src := oauth.NewSource(prov.Config(oauth.FlowLoopback), st, "work")

	arrived, release := prov.Hold()
	const n = 8
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { tokens[i], errs[i] = src.Token(testCtx(t)) })
	}
	recv(t, arrived, "refresh request")
	release()
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if tokens[i] != tokens[0] {
			t.Errorf("caller %d got another token", i)
		}
	}
	if c := prov.Counts(); c.Refreshes != 1 || c.TokenRequests != 1 {
		t.Errorf("refreshes = %d, token requests = %d; want one for %d callers", c.Refreshes, c.TokenRequests, n)
	}
}

func TestSourceConcurrentForcedRefreshes(t *testing.T) {
	// Several connections refused at once each call Refresh; those that
	// waited for another's refresh take its token. How many wait depends
	// on scheduling, so only the bounds are certain.
	prov := oauthtest.Start(t)
	st := newStore(t)
	stored(t, prov, st, "work", nil)
	src := oauth.NewSource(prov.Config(oauth.FlowLoopback), st, "work")
	arrived, release := prov.Hold()
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	tokens := make([]string, n)
	for i := range n {
		wg.Go(func() { tokens[i], errs[i] = src.Refresh(testCtx(t)) })
	}
	recv(t, arrived, "refresh request")
	release()
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if _, active := prov.Introspect(tokens[i]); !active {
			t.Errorf("caller %d got an inactive token", i)
		}
	}
	if c := prov.Counts(); c.Refreshes < 1 || c.Refreshes > n {
		t.Errorf("refreshes = %d, want 1..%d", c.Refreshes, n)
	}
}

func TestSourceRefreshAfterServerRefusal(t *testing.T) {
	prov := oauthtest.Start(t)
	st := newStore(t)
	stored(t, prov, st, "work", nil)
	src := oauth.NewSource(prov.Config(oauth.FlowLoopback), st, "work")
	ctx := testCtx(t)

	at1, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prov.Expire() // the IMAP server would now refuse at1
	if _, active := prov.Introspect(at1); active {
		t.Fatal("Expire left the token active")
	}
	if again, _ := src.Token(ctx); again != at1 {
		t.Error("Token changed without a refresh: the expiry it knows is an hour away")
	}
	at2, err := src.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if user, active := prov.Introspect(at2); at2 == at1 || !active || user != "user" {
		t.Errorf("after Refresh: new %v, active %v, user %q", at2 != at1, active, user)
	}
	if again, _ := src.Token(ctx); again != at2 {
		t.Error("Token after Refresh is not the refreshed token")
	}
	if n := prov.Counts().Refreshes; n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
}

func TestSourceNeedLogin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		account string
		setup   func(t *testing.T, prov *oauthtest.Provider, st oauth.Store, account string)
		check   func(t *testing.T, err error)
		// refused is how many refresh requests the provider refused: one,
		// not two (x/oauth2's auth style auto-detection would retry).
		refused int
	}{
		{name: "nothing stored", account: "work",
			setup: func(*testing.T, *oauthtest.Provider, oauth.Store, string) {},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%v does not wrap os.ErrNotExist", err)
				}
			}},
		{name: "revoked", account: "work", refused: 1,
			setup: func(t *testing.T, prov *oauthtest.Provider, st oauth.Store, account string) {
				tok := stored(t, prov, st, account, func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(-time.Minute) })
				prov.Revoke(tok.RefreshToken)
			},
			check: func(t *testing.T, err error) {
				var pe *oauth.ProviderError
				if !errors.As(err, &pe) || pe.Code != "invalid_grant" {
					t.Errorf("%v: want a *ProviderError invalid_grant in the chain", err)
				}
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) {
					t.Errorf("%v: the RetrieveError is not reachable", err)
				}
			}},
		{name: "unknown refresh token", account: "my work", refused: 1,
			setup: func(t *testing.T, _ *oauthtest.Provider, st oauth.Store, account string) {
				if err := st.Save(account, &oauth2.Token{RefreshToken: "rt-never-issued"}); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "`mdsync login 'my work'`") {
					t.Errorf("%v: the command is not quoted for the shell", err)
				}
			}},
		{name: "no refresh token", account: "work",
			setup: func(t *testing.T, prov *oauthtest.Provider, st oauth.Store, account string) {
				stored(t, prov, st, account, func(tk *oauth2.Token) { tk.RefreshToken = ""; tk.Expiry = time.Now().Add(-time.Minute) })
			},
			check: func(*testing.T, error) {}},
		{name: "damaged file", account: "work",
			setup: func(t *testing.T, _ *oauthtest.Provider, st oauth.Store, account string) {
				if err := os.MkdirAll(st.Dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(st.Dir, account+".json"), []byte("not json"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, err error) {
				var d *oauth.DamagedError
				if !errors.As(err, &d) {
					t.Errorf("%v: no *DamagedError", err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prov := oauthtest.Start(t)
			st := newStore(t)
			tc.setup(t, prov, st, tc.account)
			src := oauth.NewSource(prov.Config(oauth.FlowLoopback), st, tc.account)
			for _, call := range []func(context.Context) (string, error){src.Token, src.Refresh} {
				_, err := call(testCtx(t))
				if !errors.Is(err, oauth.ErrNeedLogin) {
					t.Fatalf("err = %v, want ErrNeedLogin", err)
				}
				if oauth.Temporary(err) {
					t.Errorf("%v is Temporary", err)
				}
				if !strings.Contains(err.Error(), "mdsync login") || !strings.Contains(err.Error(), tc.account) {
					t.Errorf("%q does not tell to run mdsync login for the account", err)
				}
				tc.check(t, err)
			}
			if n := prov.Counts().RefusedRefreshes; n != 2*tc.refused {
				t.Errorf("refused refreshes = %d, want %d (one per call)", n, 2*tc.refused)
			}
		})
	}
}

func TestSourceTemporaryErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		break_    func(prov *oauthtest.Provider)
		temporary bool
		check     func(t *testing.T, err error)
	}{
		{"provider down", func(p *oauthtest.Provider) { p.Close() }, true, func(t *testing.T, err error) {
			var ue *url.Error
			if !errors.As(err, &ue) {
				t.Errorf("%v: no *url.Error in the chain", err)
			}
		}},
		{"HTTP 503 with a page", func(p *oauthtest.Provider) { p.FailNext(503, "<html>Service down for maintenance</html>") }, true,
			func(t *testing.T, err error) {
				var pe *oauth.ProviderError
				if !errors.As(err, &pe) || pe.Status != 503 {
					t.Errorf("%v: want a *ProviderError with status 503", err)
				}
				if strings.Contains(err.Error(), "<html>") {
					t.Errorf("%q quotes the response body", err)
				}
			}},
		{"temporarily_unavailable", func(p *oauthtest.Provider) {
			p.FailNext(400, `{"error":"temporarily_unavailable"}`)
		}, true, func(*testing.T, error) {}},
		{"invalid_client", func(p *oauthtest.Provider) { p.FailNext(401, `{"error":"invalid_client"}`) }, false,
			func(*testing.T, error) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prov := oauthtest.Start(t)
			st := newStore(t)
			old := stored(t, prov, st, "work", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(-time.Minute) })
			src := oauth.NewSource(prov.Config(oauth.FlowLoopback), st, "work")
			tc.break_(prov)
			_, err := src.Token(testCtx(t))
			if err == nil {
				t.Fatal("Token succeeded")
			}
			if errors.Is(err, oauth.ErrNeedLogin) {
				t.Errorf("%v is ErrNeedLogin", err)
			}
			if got := oauth.Temporary(err); got != tc.temporary {
				t.Errorf("Temporary(%v) = %v, want %v", err, got, tc.temporary)
			}
			if !strings.HasPrefix(err.Error(), "refresh the access token of work: ") {
				t.Errorf("%q does not say what failed", err)
			}
			tc.check(t, err)
			if saved, _ := st.Load("work"); saved == nil || saved.RefreshToken != old.RefreshToken {
				t.Error("a failed refresh changed the stored token")
			}
		})
	}
}

func TestSourceCancelledWhileWaiting(t *testing.T) {
	prov := oauthtest.Start(t)
	st := newStore(t)
	stored(t, prov, st, "work", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(-time.Minute) })
	src := oauth.NewSource(prov.Config(oauth.FlowLoopback), st, "work")
	arrived, release := prov.Hold()
	defer release()
	first := make(chan error, 1)
	go func() { _, err := src.Token(testCtx(t)); first <- err }()
	recv(t, arrived, "refresh request")

	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	_, err := src.Token(ctx) // waits behind the held refresh, then gives up
	if !errors.Is(err, context.Canceled) || oauth.Temporary(err) {
		t.Errorf("err = %v, want context.Canceled, not Temporary", err)
	}
	release()
	if err := recv(t, first, "first caller"); err != nil {
		t.Error(err)
	}
}

func TestSourceKeepsATokenItCouldNotSave(t *testing.T) {
	prov := oauthtest.Start(t, oauthtest.WithRotation())
	st := newStore(t)
	stored(t, prov, st, "work", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(-time.Minute) })
	src := oauth.NewSource(prov.Config(oauth.FlowLoopback), st, "work")
	path := filepath.Join(st.Dir, "work.json")

	// While the refresh is in flight, put a directory where the file
	// goes, so the save after it fails.
	arrived, release := prov.Hold()
	done := make(chan error, 1)
	go func() { _, err := src.Token(testCtx(t)); done <- err }()
	recv(t, arrived, "refresh request")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	release()
	if err := recv(t, done, "refresh"); err == nil || !strings.Contains(err.Error(), "save the OAuth2 token of work") {
		t.Fatalf("err = %v, want the failed save", err)
	}
	if _, err := src.Token(testCtx(t)); err == nil {
		t.Fatal("Token succeeded while the token cannot be saved")
	}
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	at, err := src.Token(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	saved, err := st.Load("work")
	if err != nil || saved.AccessToken != at {
		t.Fatalf("saved %v, %v; want the token refreshed before", saved, err)
	}
	if n := prov.Counts().Refreshes; n != 1 {
		t.Errorf("refreshes = %d, want 1 (the rotated refresh token was kept, not lost)", n)
	}
}

func TestSourcePicksUpANewLogin(t *testing.T) {
	prov := oauthtest.Start(t)
	st := newStore(t)
	old := stored(t, prov, st, "work", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(30 * time.Second) })
	src := oauth.NewSource(prov.Config(oauth.FlowLoopback), st, "work")
	prov.Revoke(old.RefreshToken)
	// Another process signs in again and writes the file.
	fresh := stored(t, prov, st, "work", nil)
	at, err := src.Token(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if at != fresh.AccessToken {
		t.Error("Token did not take the token written by the new sign-in")
	}
}

func TestSourceErrorsHoldNoSecrets(t *testing.T) {
	const secret = "cs-very-secret-client-secret"
	prov := oauthtest.Start(t, oauthtest.WithLeakyErrors(), oauthtest.WithClient("client-x", secret))
	st := newStore(t)
	p := prov.Config(oauth.FlowLoopback)
	ctx := testCtx(t)
	var texts []string
	var secrets []string
	collect := func(err error) {
		if err == nil {
			t.Error("expected an error")
		}
		texts = append(texts, errText(err))
	}

	// Refused refresh token, quoted back by the provider.
	tok := stored(t, prov, st, "revoked", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(-time.Minute) })
	secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
	prov.Revoke(tok.RefreshToken)
	_, err := oauth.NewSource(p, st, "revoked").Token(ctx)
	collect(err)
	if !errors.Is(err, oauth.ErrNeedLogin) {
		t.Errorf("%v is not ErrNeedLogin", err)
	}

	// Wrong client secret, quoted back.
	tok = stored(t, prov, st, "badclient", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(-time.Minute) })
	secrets = append(secrets, tok.AccessToken, tok.RefreshToken, "cs-wrong-secret-value")
	bad := p
	bad.ClientSecret = "cs-wrong-secret-value"
	_, err = oauth.NewSource(bad, st, "badclient").Token(ctx)
	collect(err)

	// A 500 whose non-JSON body quotes the request.
	tok = stored(t, prov, st, "outage", func(tk *oauth2.Token) { tk.Expiry = time.Now().Add(-time.Minute) })
	secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
	prov.FailNext(500, "internal error, request was:")
	_, err = oauth.NewSource(p, st, "outage").Token(ctx)
	collect(err)

	// A 400 whose JSON description quotes the request.
	prov.FailNext(400, `{"error":"invalid_request","error_description":"bad request"}`)
	_, err = oauth.NewSource(p, st, "outage").Token(ctx)
	collect(err)

	secrets = append(secrets, secret)
	for _, s := range texts {
		noSecrets(t, "error", s, secrets...)
	}
}
