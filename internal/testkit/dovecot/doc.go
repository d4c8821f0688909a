// Package dovecot starts mail servers for tests, and for the benchmark
// driver: a private Dovecot instance (IMAP, IMAPS, POP3, POP3S on loopback)
// and an in-process go-imap memory server, plus helpers to populate and
// inspect them, generate messages and compare a server with a Maildir.
// Nothing outside tests and internal/bench imports it.
//
// Where things are: server.go starts and stops an instance, with
// options.go, config.go (its dovecot.conf), users.go (passwd-files),
// cert.go and doveadm.go; mailbox.go, snapshot.go and bulkload.go fill and
// read a user's mail; compare.go reduces a server or a Maildir to states
// that compare; genmessage.go makes deterministic messages; memserver.go is
// the in-process server; imapproxy.go makes Dovecot look like another
// server; leftintmp.go is the Maildir tmp/ fixture.
package dovecot
