package mbsync

import (
	"strings"
	"unicode/utf8"

	"github.com/mdsync/mdsync/internal/mutf7"
)

// hasMUTF7NonASCII reports whether s is valid modified UTF-7 that spells a
// non-ASCII character: the evidence that a directory was named by mbsync
// 1.4 (or OfflineIMAP) from an IMAP name.
func hasMUTF7NonASCII(s string) bool {
	if !strings.Contains(s, "&") {
		return false
	}
	d, err := mutf7.Decode(s)
	return err == nil && d != strings.ReplaceAll(s, "&-", "&")
}

// hasUTF8NonASCII reports whether s is valid UTF-8 with a non-ASCII
// character: the evidence that names are spelled in UTF-8 on disk.
func hasUTF8NonASCII(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}
