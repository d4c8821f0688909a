package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/mdsync/mdsync/internal/oauth"
)

func TestWellKnownProviders(t *testing.T) {
	g := oauth.Google("id.apps.googleusercontent.com", "secret")
	if g.Flow != oauth.FlowLoopback || !slices.Equal(g.Scopes, []string{"https://mail.google.com/"}) ||
		g.AuthURL != "https://accounts.google.com/o/oauth2/auth" || g.TokenURL != "https://oauth2.googleapis.com/token" ||
		g.AuthStyle != oauth2.AuthStyleInParams || g.AuthParams["access_type"] != "offline" || g.ClientSecret != "secret" {
		t.Errorf("Google = %+v", g)
	}
	for _, tc := range []struct{ tenant, base string }{
		{"", "https://login.microsoftonline.com/common/oauth2/v2.0/"},
		{"contoso.onmicrosoft.com", "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/"},
		{"consumers", "https://login.microsoftonline.com/consumers/oauth2/v2.0/"},
	} {
		m := oauth.Microsoft(tc.tenant, "app-id", "")
		if m.AuthURL != tc.base+"authorize" || m.TokenURL != tc.base+"token" || m.DeviceAuthURL != tc.base+"devicecode" {
			t.Errorf("Microsoft(%q) endpoints = %s %s %s", tc.tenant, m.AuthURL, m.TokenURL, m.DeviceAuthURL)
		}
		want := []string{"https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/POP.AccessAsUser.All", "offline_access"}
		if m.Flow != oauth.FlowDevice || !slices.Equal(m.Scopes, want) || m.AuthStyle != oauth2.AuthStyleInParams || m.ClientSecret != "" {
			t.Errorf("Microsoft(%q) = %+v", tc.tenant, m)
		}
	}
}

func TestTemporary(t *testing.T) {
	netErr := &url.Error{Op: "Post", URL: "https://x/token", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"network", fmt.Errorf("refresh: %w", netErr), true},
		{"deadline", fmt.Errorf("refresh: %w", context.DeadlineExceeded), true},
		{"cancelled", fmt.Errorf("refresh: %w", &url.Error{Op: "Post", URL: "u", Err: context.Canceled}), false},
		{"503", &oauth.ProviderError{Status: 503}, true},
		{"429", &oauth.ProviderError{Status: 429, Code: "slow_down"}, true},
		{"server_error", &oauth.ProviderError{Status: 400, Code: "server_error"}, true},
		{"invalid_client", &oauth.ProviderError{Status: 401, Code: "invalid_client"}, false},
		{"need login", &oauth.NeedLoginError{Account: "a", Reason: "r", Err: netErr}, false},
		{"other", os.ErrPermission, false},
	} {
		if got := oauth.Temporary(tc.err); got != tc.want {
			t.Errorf("%s: Temporary(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestProviderErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  *oauth.ProviderError
		want string
	}{
		{&oauth.ProviderError{Status: 400, Code: "invalid_grant", Description: "Token has been expired or revoked."},
			"the provider answered invalid_grant: Token has been expired or revoked."},
		{&oauth.ProviderError{Status: 401, Code: "invalid_client"}, "the provider answered invalid_client (HTTP 401)"},
		{&oauth.ProviderError{Status: 502}, "the provider answered HTTP 502 Bad Gateway"},
		{&oauth.ProviderError{Code: "access_denied"}, "the provider answered access_denied"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
