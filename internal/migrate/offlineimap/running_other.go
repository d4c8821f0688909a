//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package offlineimap

// running cannot tell on this system.
func running(string) bool { return false }
