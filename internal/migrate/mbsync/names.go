package mbsync

import (
	"fmt"
	"strings"
)

// uniqueName makes an mdsync section name of kind from an mbsync name:
// characters outside [A-Za-z0-9_-] become '-', and a name already taken
// gets "-2", "-3", ...
func (r *reader) uniqueName(kind, name string) string {
	var b strings.Builder
	for _, c := range name {
		if c < 0x80 && (isAlnum(byte(c)) || c == '_' || c == '-') {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	base := b.String()
	if strings.Trim(base, "-") == "" {
		base = "mbsync"
	}
	n := base
	for i := 2; r.names[kind+"."+n]; i++ {
		n = fmt.Sprintf("%s-%d", base, i)
	}
	r.names[kind+"."+n] = true
	return n
}
