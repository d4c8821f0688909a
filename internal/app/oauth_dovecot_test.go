package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdsync/mdsync/internal/oauth"
	"github.com/mdsync/mdsync/internal/oauth/oauthtest"
	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// oauthConfig is a config whose channel and POP account sign in with
// OAuth2 at the fake provider, mechanism mech.
func oauthConfig(dir string, d *dovecot.Server, e oauthtest.Endpoints, mech string) string {
	o := fmt.Sprintf(`oauth2 = { provider = "custom", client_id = "mdsync-test-client", auth_url = %q, token_url = %q, device_auth_url = %q }
auth = %q`, e.AuthURL, e.TokenURL, e.DeviceAuthURL, mech)
	return fmt.Sprintf(`state_dir = %q
[imap.test]
host = "127.0.0.1"
port = %d
tls = "none"
user = %q
%s
[maildir.test]
path = %q
[channel.test]
imap = "test"
maildir = "test"
folders = ["*", "!POP"]
[pop.isp]
host = "127.0.0.1"
port = %d
tls = "none"
user = %q
%s
maildir = "test"
folder = "POP"
`, filepath.Join(dir, "state"), d.IMAPPort, user, o, filepath.Join(dir, "mail"), d.POP3Port, popUser, o)
}

// playBrowser follows the sign-in URL like a browser whose user approves
// at once: the provider redirects to mdsync's loopback listener.
func playBrowser(t *testing.T) {
	t.Helper()
	old := openBrowser
	openBrowser = func(url string) error {
		go func() {
			resp, err := http.Get(url)
			if err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}
	t.Cleanup(func() { openBrowser = old })
}

// TestOAuth2SignIn: `mdsync login` (loopback flow, the test playing the
// browser) stores a refresh token; sync then logs in with XOAUTH2 and with
// OAUTHBEARER, IMAP and POP3 alike; an access token the server stops
// accepting is refreshed unnoticed; a revoked sign-in is one line and exit
// 1; the device flow works; no token or secret shows in -vv or --json.
func TestOAuth2SignIn(t *testing.T) {
	fake := oauthtest.Start(t, oauthtest.WithUser(user))
	d := dovecot.Start(t, dovecot.WithUser(user, pass), dovecot.WithUser(popUser, pass), dovecot.WithOAuth2(fake.Endpoints().IntrospectURL))
	d.Append(t, user, "INBOX", dovecot.GenMessage(300, 0, 400))
	d.Append(t, popUser, "INBOX", dovecot.GenMessage(301, 0, 400))
	dir := t.TempDir()
	conf := writeConfig(t, dir, oauthConfig(dir, d, fake.Endpoints(), "xoauth2"))
	var outputs bytes.Buffer
	runLogged := func(args ...string) (int, string, string) {
		t.Helper()
		code, out, errOut := run(t, append([]string{"--config", conf}, args...)...)
		outputs.WriteString(out + errOut)
		return code, out, errOut
	}

	playBrowser(t)
	if code, out, errOut := runLogged("login", "test"); code != 0 || !strings.Contains(out, fake.URL()+"/authorize?") {
		t.Fatalf("login: exit %d\n%s\n%s", code, out, errOut)
	}
	tokFile := filepath.Join(dir, "state", "oauth", "imap.test.json")
	fi, err := os.Stat(tokFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	// the POP user's token, as a sign-in would have stored it
	if err := (oauth.Store{Dir: filepath.Join(dir, "state", "oauth")}).Save("pop.isp", fake.MintFor(popUser)); err != nil {
		t.Fatal(err)
	}

	for _, mech := range []string{"xoauth2", "oauthbearer"} {
		writeConfig(t, dir, oauthConfig(dir, d, fake.Endpoints(), mech))
		code, out, trace := runLogged("-vv", "--json", "sync")
		if code != 0 {
			t.Fatalf("%s: sync exit %d\n%s\n%s", mech, code, out, lastLines(trace, 20))
		}
		if !strings.Contains(trace, "AUTHENTICATE "+strings.ToUpper(mech)) || !strings.Contains(trace, "AUTH "+strings.ToUpper(mech)) {
			t.Errorf("%s: the trace shows no IMAP AUTHENTICATE / POP3 AUTH with it:\n%s", mech, lastLines(trace, 40))
		}
		code, out, _ = runLogged("check")
		if code != 0 || !strings.Contains(out, "auth "+strings.ToUpper(mech)) || !strings.Contains(out, "auth AUTH "+strings.ToUpper(mech)) {
			t.Errorf("%s: check does not show the mechanism:\n%s", mech, out)
		}
	}
	if got := dovecot.LocalState(t, filepath.Join(dir, "mail")); len(got["INBOX"]) != 1 || len(got["POP"]) != 1 {
		t.Errorf("not synced: %v", got)
	}

	// the server stops accepting the access token: refreshed once, unnoticed
	before := fake.Counts().Refreshes
	fake.Expire()
	if code, _, errOut := runLogged("-q", "sync"); code != 0 || errOut != "" {
		t.Errorf("after the access token expired: exit %d %s", code, errOut)
	}
	if n := fake.Counts().Refreshes - before; n < 1 {
		t.Errorf("%d refreshes after the token expired", n)
	}

	// revoked: one line, exit 1, says what to do
	fake.RevokeAll()
	code, _, errOut := runLogged("-q", "sync", "test")
	if code != ExitFailed || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "run: mdsync login test") {
		t.Errorf("revoked: exit %d\n%s", code, errOut)
	}

	// the device flow signs in again
	done := make(chan int, 1)
	go func() {
		code, _, _ := runLogged("login", "--flow", "device", "test")
		done <- code
	}()
	select {
	case uc := <-fake.UserCodes():
		if err := fake.Approve(uc); err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no device authorization")
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("device login: exit %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("device login did not end")
	}
	if code, _, errOut := runLogged("-q", "sync", "test"); code != 0 {
		t.Errorf("after the device sign-in: exit %d %s", code, errOut)
	}

	// a token helper's output is the access token
	helper := fake.MintFor(user).AccessToken
	text := strings.Replace(oauthConfig(dir, d, fake.Endpoints(), "auto"), fmt.Sprintf(`oauth2 = { provider = "custom", client_id = "mdsync-test-client", auth_url = %q, token_url = %q, device_auth_url = %q }`, fake.Endpoints().AuthURL, fake.Endpoints().TokenURL, fake.Endpoints().DeviceAuthURL), fmt.Sprintf("token_command = \"printf %%s %s\"", helper), 1)
	writeConfig(t, dir, text)
	if code, _, errOut := runLogged("-vv", "sync", "test"); code != 0 || !strings.Contains(errOut, "AUTHENTICATE XOAUTH2") {
		t.Errorf("token_command: exit %d\n%s", code, lastLines(errOut, 10))
	}
	if strings.Contains(outputs.String(), helper) {
		t.Error("the helper's token shows in mdsync's output")
	}

	// no secret anywhere in what mdsync printed
	var stored struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	b, _ := os.ReadFile(tokFile)
	if err := json.Unmarshal(b, &stored); err != nil || stored.AccessToken == "" || stored.RefreshToken == "" {
		t.Fatalf("token file: %v %s", err, b)
	}
	for _, secret := range []string{stored.AccessToken, stored.RefreshToken} {
		if strings.Contains(outputs.String(), secret) {
			t.Errorf("a token shows in mdsync's output")
		}
	}
}
