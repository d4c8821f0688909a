package mailnet

import (
	"net"
	"strings"
)

// IsLoopback reports whether host names this machine: "localhost" or a
// loopback address (127.0.0.0/8, ::1), bracketed or not.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// PlaintextAllowed is the rule for a connection without TLS, which sends
// the password in clear text: allowed toward this machine, where nobody
// else sees the traffic, and toward any other host only when the user said
// so (allow_plaintext = true).
func PlaintextAllowed(host string, allowPlaintext bool) bool {
	return allowPlaintext || IsLoopback(host)
}
