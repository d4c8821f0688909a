package syncer

import (
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// noPipeline, among an account's remembered capabilities, says that a LIST
// sent with the login went unanswered once: it is not sent so again.
const noPipeline imap.Cap = "X-MDSYNC-NO-PIPELINE"

// capsString is a capability set as one sorted, space-separated string.
func capsString(cs imap.CapSet) string {
	var l []string
	for c := range cs {
		l = append(l, string(c))
	}
	sort.Strings(l)
	return strings.Join(l, " ")
}

// hasCap tells whether a capsString holds c.
func hasCap(caps string, c imap.Cap) bool {
	for _, f := range strings.Fields(caps) {
		if strings.EqualFold(f, string(c)) {
			return true
		}
	}
	return false
}
