package pop3

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/mdsync/mdsync/internal/mailnet"
)

// TestProtocolRefusals: of the server's -ERR replies only [SYS/TEMP] and
// [IN-USE] may pass by themselves.
func TestProtocolRefusals(t *testing.T) {
	tests := []struct {
		name string
		err  error
		temp bool
	}{
		{"SYS/TEMP", &Error{Cmd: "PASS ***", Msg: "[SYS/TEMP] busy"}, true},
		{"IN-USE", fmt.Errorf("login: %w", &Error{Cmd: "PASS ***", Msg: "[IN-USE] mailbox locked"}), true},
		{"AUTH", &Error{Cmd: "PASS ***", Msg: "[AUTH] invalid"}, false},
		{"SYS/PERM", &Error{Cmd: "RETR 1", Msg: "[SYS/PERM] gone"}, false},
		{"plain -ERR", &Error{Cmd: "DELE 1", Msg: "no such message"}, false},
		{"no UIDL", fmt.Errorf("%w: %w", ErrNoUIDL, &Error{Cmd: "UIDL", Msg: "unknown command"}), false},
		{"a dropped connection", fmt.Errorf("pop3: RETR 1: %w", io.ErrUnexpectedEOF), true},
	}
	for _, tc := range tests {
		if got := errors.Is(Protocol.Classify(tc.err), mailnet.ErrTemporary); got != tc.temp {
			t.Errorf("%s: temporary = %v, want %v", tc.name, got, tc.temp)
		}
	}
}
