package imapconn

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestClassifyRefusals: of the server's refusals only [UNAVAILABLE] may
// pass by itself; a refusal decides even when the connection dropped
// after it.
func TestClassifyRefusals(t *testing.T) {
	no := func(code imap.ResponseCode) *imap.Error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: "x"}
	}
	tests := []struct {
		name string
		err  error
		temp bool
	}{
		{"UNAVAILABLE", no(imap.ResponseCodeUnavailable), true},
		{"UNAVAILABLE, wrapped", fmt.Errorf("select INBOX: %w", no(imap.ResponseCodeUnavailable)), true},
		{"OVERQUOTA", no(imap.ResponseCodeOverQuota), false},
		{"a plain NO", no(""), false},
		{"BAD", &imap.Error{Type: imap.StatusResponseTypeBad, Text: "syntax"}, false},
		{"not a refusal", errors.New("in response: cannot read tag: i/o timeout"), true},
	}
	for _, tc := range tests {
		if got := errors.Is(Classify(tc.err), ErrTemporary); got != tc.temp {
			t.Errorf("%s: temporary = %v, want %v", tc.name, got, tc.temp)
		}
	}
}

// TestRedactLogin: LOGIN's password is hidden however it is quoted, and
// other lines pass as they are.
func TestRedactLogin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"T1 LOGIN alice s3cret\r\n", "T1 LOGIN alice ***\r\n"},
		{`T1 login "alice" "s3\"cret"` + "\r\n", `T1 LOGIN "alice" ***` + "\r\n"},
		{"* OK [CAPABILITY IMAP4rev1] ready\r\n", "* OK [CAPABILITY IMAP4rev1] ready\r\n"},
		{"T2 SELECT LOGIN\r\n", "T2 SELECT LOGIN\r\n"},
	}
	for _, tc := range tests {
		if got := string(redactLogin([]byte(tc.in))); got != tc.want {
			t.Errorf("redactLogin(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var trace strings.Builder
	r := newRedactor(&trace, "alice", "pw")
	r.Write([]byte("T1 AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n")) // \0alice\0pw
	if got := trace.String(); !strings.HasPrefix(got, "[c") || !strings.HasSuffix(got, "T1 AUTHENTICATE PLAIN ***\r\n") {
		t.Errorf("trace %q", got)
	}
}
