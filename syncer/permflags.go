package syncer

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// unstorable returns the letters of syncedFlags a selected folder cannot
// keep: those its PERMANENTFLAGS lack. \* (new keywords may be created)
// is taken to allow every flag: some servers then list only the flags in
// use. A server that sends no PERMANENTFLAGS keeps every flag (RFC 3501
// section 7.1).
func unstorable(sel *imap.SelectData) string {
	if sel == nil || sel.PermanentFlags == nil {
		return ""
	}
	wildcard := false
	have := map[string]bool{}
	for _, f := range sel.PermanentFlags {
		if f == imap.FlagWildcard {
			wildcard = true
		}
		have[strings.ToLower(string(f))] = true
	}
	var out []byte
	for i := 0; i < len(syncedFlags); i++ {
		f := letterToIMAP[syncedFlags[i]]
		if have[strings.ToLower(string(f))] || wildcard {
			continue
		}
		out = append(out, syncedFlags[i])
	}
	return string(out)
}
