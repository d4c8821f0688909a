package mailnet

import "errors"

// Error kinds, for exit codes. Everything not ErrTemporary is permanent:
// running again changes nothing until someone changes something.
var (
	// ErrTemporary wraps failures that may pass by themselves: a refused,
	// reset or dropped connection, a timeout, a DNS server that did not
	// answer, a server saying it is unavailable.
	ErrTemporary = errors.New("temporary failure")
	// ErrAuth wraps a refused login.
	ErrAuth = errors.New("login refused")
	// ErrTLS wraps a TLS failure: a certificate that does not verify, or a
	// port that does not speak TLS the way the config says.
	ErrTLS = errors.New("TLS failure")
)

// marked reports whether err already carries one of the kinds: it is
// classified, and classifying it again must not change its kind.
func marked(err error) bool {
	return errors.Is(err, ErrTemporary) || errors.Is(err, ErrTLS) || errors.Is(err, ErrAuth)
}
