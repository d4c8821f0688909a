package imapconn

import (
	"encoding/base64"
	"io"
	"strings"

	"github.com/mdsync/mdsync/internal/mailnet"
)

// newRedactor is the trace writer of a connection: tagged with its number
// and without the password, in the clear or in the AUTHENTICATE PLAIN
// forms a client sends (with and without an authorization identity).
func newRedactor(w io.Writer, user, pass string) *mailnet.Redactor {
	var secrets []string
	if pass != "" {
		secrets = []string{
			pass,
			base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass)),
			base64.StdEncoding.EncodeToString([]byte(user + "\x00" + user + "\x00" + pass)),
		}
	}
	return mailnet.NewRedactor(mailnet.Tagged(w, mailnet.NextConnTag()), redactLogin, secrets...)
}

// redactLogin hides the password argument of LOGIN whatever its quoting:
// a quoted string escapes characters that the password registered as a
// secret has bare, so the secret alone may not match.
func redactLogin(line []byte) []byte {
	if f := strings.Fields(string(line)); len(f) >= 3 && strings.EqualFold(f[1], "LOGIN") {
		return []byte(f[0] + " LOGIN " + f[2] + " " + mailnet.Mask + "\r\n")
	}
	return line
}
