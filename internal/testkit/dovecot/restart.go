package dovecot

import "testing"

// Down stops the server as a crash or a restart looks to its clients:
// every connection is dropped and the ports refuse new ones. The mail and
// the users stay; Up starts it again on the same ports.
func (d *Server) Down(t testing.TB) {
	t.Helper()
	d.stop()
}

// Up starts a server Down stopped, and waits until its ports accept
// connections.
func (d *Server) Up(t testing.TB) {
	t.Helper()
	if err := d.start(); err != nil {
		t.Fatalf("dovecot: start again: %v\n%s", err, d.logTail())
	}
}
