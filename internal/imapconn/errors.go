package imapconn

import (
	"errors"

	"github.com/emersion/go-imap/v2"

	"github.com/mdsync/mdsync/internal/mailnet"
)

// Error kinds, for exit codes (see package mailnet).
var (
	ErrTemporary = mailnet.ErrTemporary
	ErrAuth      = mailnet.ErrAuth
	ErrTLS       = mailnet.ErrTLS
)

// protocol is IMAP as mailnet sees it: its ports, and its servers'
// refusals (NO, BAD), of which only [UNAVAILABLE] (RFC 5530) may pass by
// itself; any other stands until someone acts.
var protocol = mailnet.Protocol{Name: "IMAP", PlainPort: 143, TLSPort: 993, Refused: refused}

func refused(err error) (refused, transient bool) {
	var ie *imap.Error
	if !errors.As(err, &ie) {
		return false, false
	}
	return true, ie.Code == imap.ResponseCodeUnavailable
}

// Classify marks err with one of the error kinds: ErrTemporary for what
// may pass by itself, ErrTLS for a certificate that does not verify.
func Classify(err error) error { return protocol.Classify(err) }

// authError is a refused login and the mechanism it used.
type authError struct {
	err  error
	mech string
}

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }
