package pop3

import (
	"errors"
	"strings"

	"github.com/mdsync/mdsync/internal/mailnet"
)

// Protocol is POP3 as mailnet sees it: its ports, and its servers'
// refusals (-ERR), of which only [SYS/TEMP] and [IN-USE] (RFC 3206) say
// that they may pass by themselves; any other stands until someone acts.
var Protocol = mailnet.Protocol{Name: "POP3", PlainPort: 110, TLSPort: 995, Refused: refused}

func refused(err error) (refused, transient bool) {
	var pe *Error
	if !errors.As(err, &pe) {
		return false, false
	}
	return true, strings.HasPrefix(pe.Msg, "[SYS/TEMP]") || strings.HasPrefix(pe.Msg, "[IN-USE]")
}
