package mailnet

import (
	"errors"
	"strings"
)

// refusal is a server's refusal in the protocols of these tests; a text
// starting with "[TEMP]" says it may pass by itself.
type refusal struct{ text string }

func (r *refusal) Error() string { return "server refused: " + r.text }

func refused(err error) (bool, bool) {
	var r *refusal
	if !errors.As(err, &r) {
		return false, false
	}
	return true, strings.HasPrefix(r.text, "[TEMP]")
}

// imapLike and popLike are protocols with the real ports, so that the hints
// can be checked for them.
var (
	imapLike = Protocol{Name: "IMAP", PlainPort: 143, TLSPort: 993, Refused: refused}
	popLike  = Protocol{Name: "POP3", PlainPort: 110, TLSPort: 995, Refused: refused}
)
