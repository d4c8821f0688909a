package dovecot

import (
	"net"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// StartMemServer starts an in-process go-imap memory server (IMAP4rev1 and
// IMAP4rev2, plaintext login allowed) on a free 127.0.0.1 port with a
// single user owning an empty INBOX. It returns the host:port to dial and
// the user, whose methods (Create, Append, ...) populate the mailbox
// directly. The server is closed in t.Cleanup.
func StartMemServer(t testing.TB, user, pass string) (addr string, srv *imapmemserver.User) {
	t.Helper()
	return StartMemServerCaps(t, user, pass, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}})
}

// StartMemServerCaps is StartMemServer with the given capabilities: with
// IMAP4rev1 alone the server has no UIDPLUS, MOVE, ESEARCH or LIST-STATUS,
// which is how clients are tested against plain servers.
func StartMemServerCaps(t testing.TB, user, pass string, caps imap.CapSet) (addr string, srv *imapmemserver.User) {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, pass)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatalf("dovecot: create INBOX: %v", err)
	}
	mem.AddUser(u)

	logger := &testLogger{t: t}
	s := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       logger,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dovecot: listen: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ln)
	}()
	t.Cleanup(func() {
		logger.closed.Store(true)
		_ = s.Close()
		<-done
	})
	return ln.Addr().String(), u
}

// testLogger forwards server log lines to the test log until the test ends.
type testLogger struct {
	t      testing.TB
	closed atomic.Bool
}

func (l *testLogger) Printf(format string, args ...any) {
	if !l.closed.Load() {
		l.t.Logf("imapmemserver: "+format, args...)
	}
}
