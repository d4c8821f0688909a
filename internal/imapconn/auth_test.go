package imapconn

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
	"github.com/mdsync/mdsync/internal/testkit/imapfake"
)

// TestChooseAuth: what each setting picks from what the server offers.
func TestChooseAuth(t *testing.T) {
	caps := func(s ...string) imap.CapSet {
		cs := imap.CapSet{}
		for _, c := range s {
			cs[imap.Cap(c)] = struct{}{}
		}
		return cs
	}
	tests := []struct {
		auth  string
		caps  imap.CapSet
		oauth bool
		want  string // "" means an error containing errText
		err   string
	}{
		{"auto", caps("AUTH=PLAIN", "SASL-IR"), false, AuthPlain, ""},
		{"", caps("AUTH=PLAIN"), false, AuthPlain, ""},
		{"auto", caps(), false, AuthLogin, ""},
		{"auto", caps("LOGINDISABLED"), false, "", "LOGINDISABLED"},
		{"auto", caps("AUTH=XOAUTH2", "AUTH=OAUTHBEARER", "AUTH=PLAIN"), true, AuthXOAuth2, ""},
		{"auto", caps("AUTH=OAUTHBEARER", "AUTH=PLAIN"), true, AuthOAuthBearer, ""},
		{"auto", caps("AUTH=PLAIN"), true, "", "offers no OAuth2 mechanism (XOAUTH2, OAUTHBEARER); it offers PLAIN, LOGIN (the command)"},
		{"login", caps("AUTH=PLAIN"), false, AuthLogin, ""},
		{"login", caps("LOGINDISABLED", "AUTH=PLAIN"), false, "", "LOGINDISABLED"},
		{"plain", caps(), false, "", "does not offer PLAIN; it offers LOGIN (the command)"},
		{"xoauth2", caps("AUTH=PLAIN", "AUTH=LOGIN"), true, "", "does not offer XOAUTH2; it offers LOGIN, PLAIN, LOGIN (the command)"},
		{"oauthbearer", caps("AUTH=OAUTHBEARER"), true, AuthOAuthBearer, ""},
	}
	for _, tc := range tests {
		got, err := chooseAuth(tc.auth, tc.caps, tc.oauth, "h:143")
		if tc.want != "" {
			if err != nil || got != tc.want {
				t.Errorf("%s %v oauth=%v: %q, %v; want %q", tc.auth, tc.caps, tc.oauth, got, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrAuth) {
			t.Errorf("%s %v oauth=%v: %q, %v; want an ErrAuth with %q", tc.auth, tc.caps, tc.oauth, got, err, tc.err)
		}
	}
}

// TestAutoAuthAgainstServers: against Dovecot auto is AUTHENTICATE PLAIN
// with SASL-IR (one line, the response redacted), against a server that
// offers no mechanism it is LOGIN, and a server announcing LOGINDISABLED on
// a plaintext connection gets no password at all.
func TestAutoAuthAgainstServers(t *testing.T) {
	const user, pass = "alice", "s3cret-pw"
	d := dovecot.Start(t, dovecot.WithUser(user, pass))
	var trace bytes.Buffer
	c, err := Dial(context.Background(), Options{Host: "127.0.0.1", Port: d.IMAPPort, TLS: "none", User: user, Password: pass, Timeout: 10 * time.Second, Debug: &trace})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if c.Mechanism != "PLAIN" {
		t.Errorf("mechanism %s, want PLAIN", c.Mechanism)
	}
	tr := trace.String()
	if !strings.HasPrefix(tr, "[c") {
		t.Errorf("trace lines carry no connection tag:\n%s", tr)
	}
	if !strings.Contains(tr, " AUTHENTICATE PLAIN ***") || strings.Contains(tr, pass) || strings.Contains(tr, "AGFsaWNl") {
		t.Errorf("trace:\n%s", tr)
	}
	if strings.Contains(tr, "] + ") {
		t.Errorf("SASL-IR not used: the server asked for the response:\n%s", tr)
	}

	fake := imapfake.StartWith(t, func(s *imapfake.Server) { s.Caps = "LIST-STATUS" })
	c, err = Dial(context.Background(), Options{Host: "127.0.0.1", Port: fake.Port, TLS: "none", User: user, Password: pass, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if c.Mechanism != "LOGIN" {
		t.Errorf("mechanism %s against a server offering nothing, want LOGIN", c.Mechanism)
	}

	// a server of its own: the first one's session may still be reading
	// its settings
	disabled := imapfake.StartWith(t, func(s *imapfake.Server) { s.Caps = "LOGINDISABLED" })
	trace.Reset()
	_, err = Dial(context.Background(), Options{Host: "127.0.0.1", Port: disabled.Port, TLS: "none", User: user, Password: pass, Timeout: 10 * time.Second, Debug: &trace})
	if err == nil || !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "LOGINDISABLED") {
		t.Errorf("LOGINDISABLED: %v", err)
	}
	if strings.Contains(trace.String(), "LOGIN "+user) || strings.Contains(trace.String(), "AUTHENTICATE") {
		t.Errorf("a login was sent to a LOGINDISABLED server:\n%s", trace.String())
	}
}
