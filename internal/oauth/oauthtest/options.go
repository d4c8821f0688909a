package oauthtest

import "time"

// Option configures Start.
type Option func(*settings)

type settings struct {
	user         string
	expiry       time.Duration
	clientID     string
	clientSecret string
	autoApprove  bool
	rotate       bool
	deny         bool
	leaky        bool
}

func defaults() settings {
	return settings{user: "user", expiry: time.Hour, clientID: "mdsync-test-client"}
}

// WithUser sets the user every token belongs to, as the introspection
// endpoint reports it (Dovecot's username_attribute = username). Default
// "user".
func WithUser(user string) Option { return func(s *settings) { s.user = user } }

// WithExpiry sets the lifetime of access tokens (default one hour). The
// wire format counts whole seconds, so less than a second is sent as
// expires_in 1; the introspection endpoint uses the exact lifetime.
func WithExpiry(d time.Duration) Option { return func(s *settings) { s.expiry = d } }

// WithClient sets the client the provider accepts (default
// "mdsync-test-client" without a secret, a public client). With a secret,
// the token endpoint insists on it, in the body or in Basic auth.
func WithClient(id, secret string) Option {
	return func(s *settings) { s.clientID, s.clientSecret = id, secret }
}

// WithAutoApprove approves every device code as soon as it is issued, as if
// the user were very quick.
func WithAutoApprove() Option { return func(s *settings) { s.autoApprove = true } }

// WithRotation makes every refresh answer with a new refresh token and
// revoke the old one (strict rotation). Without it the refresh answer has no
// refresh_token and the old one stays good, as with Google.
func WithRotation() Option { return func(s *settings) { s.rotate = true } }

// WithDenial makes /authorize redirect with error=access_denied, as when the
// user declines the consent screen.
func WithDenial() Option { return func(s *settings) { s.deny = true } }

// WithLeakyErrors makes error answers quote the secrets they were sent
// (refresh token, code, client secret) in error_description, and makes the
// answers injected by FailNext quote them in the body too: a client that
// prints provider answers as they come then leaks them, which is what the
// tests of its redaction need.
func WithLeakyErrors() Option { return func(s *settings) { s.leaky = true } }
