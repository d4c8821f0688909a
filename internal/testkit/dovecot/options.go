package dovecot

// Option configures Start.
type Option func(*options)

type options struct {
	users      []userPass
	extra      []string
	introspect string
	nsPrefix   string
	nsSep      string
}

type userPass struct{ user, pass string }

// WithUser creates a user with the given password before the server
// starts. Helpers that take only a user name log in with this password.
func WithUser(user, pass string) Option {
	return func(o *options) { o.users = append(o.users, userPass{user, pass}) }
}

// WithConfig appends raw lines to the generated dovecot.conf (they can
// override earlier settings).
func WithConfig(lines ...string) Option {
	return func(o *options) { o.extra = append(o.extra, lines...) }
}

// WithNamespace gives the personal namespace a prefix and separator, as
// Courier lays folders out (prefix "INBOX.", separator ".").
func WithNamespace(prefix, sep string) Option {
	return func(o *options) { o.nsPrefix, o.nsSep = prefix, sep }
}

// WithOAuth2 makes the server take XOAUTH2 and OAUTHBEARER logins and check
// their tokens at an OAuth2 introspection endpoint (RFC 7662, POST), whose
// answer names the user in "username" and is valid while "active" is true.
// Passwords still work (the passwd-file passdb comes first).
func WithOAuth2(introspectURL string) Option {
	return func(o *options) { o.introspect = introspectURL }
}
