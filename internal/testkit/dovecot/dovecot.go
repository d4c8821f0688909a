// Package dovecot starts mail servers for tests, and for the benchmark
// driver: a private Dovecot instance (IMAP, IMAPS, POP3, POP3S on loopback)
// and an in-process go-imap memory server, plus helpers to populate and
// inspect them, generate messages and compare a server with a Maildir.
// Nothing outside tests and internal/bench imports it.
package dovecot

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns a missing Dovecot from a
// skipped test into a failed one when set to "1".
const RequireEnv = "MDSYNC_REQUIRE_DOVECOT"

// Server is a private Dovecot instance started by Start. It runs as
// a child of the test process with its own configuration and directories and
// is stopped in t.Cleanup.
type Server struct {
	// IMAPPort is the plain IMAP port (STARTTLS available).
	IMAPPort int
	// IMAPSPort is the IMAP port with implicit TLS.
	IMAPSPort int
	// POP3Port is the plain POP3 port (STLS available).
	POP3Port int
	// POP3SPort is the POP3 port with implicit TLS.
	POP3SPort int

	dir      string // root of all instance files
	conf     string // dovecot.conf
	logPath  string
	errPath  string // stdout+stderr of the master
	passwd   string // directory of per-user passwd-files
	mailRoot string // parent of the users' homes
	dovecot  string // path of the dovecot binary
	doveadm  string // path of the doveadm binary
	uid, gid int    // owner of the mail files
	caPEM    []byte
	pool     *x509.CertPool

	cmd  *exec.Cmd
	done chan struct{} // closed when the master has exited

	mu       sync.Mutex
	users    map[string]string // user -> password
	bulkSeq  int
	stopOnce sync.Once
}

// Option configures Start.
type Option func(*options)

type options struct {
	users      []userPass
	extra      []string
	debug      bool
	introspect string
	nsPrefix   string
	nsSep      string
}

type userPass struct{ user, pass string }

// WithUser creates a user with the given password before the server
// starts. Helpers that take only a user name log in with this password.
func WithUser(user, pass string) Option {
	return func(o *options) { o.users = append(o.users, userPass{user, pass}) }
}

// WithConfig appends raw lines to the generated dovecot.conf (they can
// override earlier settings).
func WithConfig(lines ...string) Option {
	return func(o *options) { o.extra = append(o.extra, lines...) }
}

// WithDebug turns on Dovecot's auth and mail debug logging.
func WithDebug() Option {
	return func(o *options) { o.debug = true }
}

// WithNamespace gives the personal namespace a prefix and separator, as
// Courier lays folders out (prefix "INBOX.", separator ".").
func WithNamespace(prefix, sep string) Option {
	return func(o *options) { o.nsPrefix, o.nsSep = prefix, sep }
}

// WithOAuth2 makes the server take XOAUTH2 and OAUTHBEARER logins and check
// their tokens at an OAuth2 introspection endpoint (RFC 7662, POST), whose
// answer names the user in "username" and is valid while "active" is true.
// Passwords still work (the passwd-file passdb comes first).
func WithOAuth2(introspectURL string) Option {
	return func(o *options) { o.introspect = introspectURL }
}

// lookupBinary finds Dovecot's programs; tests replace it.
var lookupBinary = findBinary

// findBinary looks name up in PATH, then in the usual Debian locations.
func findBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Start starts a private Dovecot instance listening on free loopback
// ports and waits until every port accepts connections. It never touches
// /etc/dovecot or the system instance. If Dovecot is not installed the test
// is skipped, unless MDSYNC_REQUIRE_DOVECOT=1, in which case it fails.
//
// When the test runs as root, mail processes run as nobody (65534); otherwise
// everything runs as the current user.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	d := &Server{users: map[string]string{}}
	d.dovecot = lookupBinary("dovecot")
	d.doveadm = lookupBinary("doveadm")
	if d.dovecot == "" || d.doveadm == "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("dovecot: dovecot not installed (dovecot=%q doveadm=%q) and %s=1", d.dovecot, d.doveadm, RequireEnv)
		}
		t.Skip("dovecot not installed")
	}

	d.dir = instanceDir(t)
	d.conf = filepath.Join(d.dir, "dovecot.conf")
	d.logPath = filepath.Join(d.dir, "dovecot.log")
	d.errPath = filepath.Join(d.dir, "stderr.log")
	d.passwd = filepath.Join(d.dir, "passwd.d")
	d.mailRoot = filepath.Join(d.dir, "mail")

	internalUser, loginUser, internalGroup := "dovecot", "dovenull", "dovecot"
	if os.Geteuid() == 0 {
		d.uid, d.gid = 65534, 65534
		if _, err := user.Lookup("dovecot"); err != nil {
			t.Fatalf("dovecot: running as root but there is no dovecot user: %v", err)
		}
		if _, err := user.Lookup("dovenull"); err != nil {
			loginUser = "dovecot"
		}
	} else {
		d.uid, d.gid = os.Geteuid(), os.Getegid()
		u, err := user.Current()
		if err != nil {
			t.Fatalf("dovecot: current user: %v", err)
		}
		internalUser, loginUser = u.Username, u.Username
		internalGroup = strconv.Itoa(d.gid)
		if g, err := user.LookupGroupId(internalGroup); err == nil {
			internalGroup = g.Name
		}
	}

	for _, sub := range []string{"run", "state", "mail", "passwd.d"} {
		if err := os.Mkdir(filepath.Join(d.dir, sub), 0o755); err != nil {
			t.Fatalf("dovecot: %v", err)
		}
	}
	if err := os.Chown(d.mailRoot, d.uid, d.gid); err != nil {
		t.Fatalf("dovecot: chown mail dir: %v", err)
	}

	certPEM, keyPEM, err := selfSignedCert()
	if err != nil {
		t.Fatalf("dovecot: certificate: %v", err)
	}
	d.caPEM = certPEM
	d.pool = x509.NewCertPool()
	d.pool.AppendCertsFromPEM(certPEM)
	if err := os.WriteFile(filepath.Join(d.dir, "cert.pem"), certPEM, 0o644); err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(d.dir, "key.pem"), keyPEM, 0o600); err != nil {
		t.Fatalf("dovecot: %v", err)
	}

	for _, up := range o.users {
		if err := checkUser(up.user, up.pass); err != nil {
			t.Fatalf("dovecot: %v", err)
		}
		d.users[up.user] = up.pass
		if err := d.writePasswd(up.user, up.pass); err != nil {
			t.Fatalf("dovecot: %v", err)
		}
	}

	cfg := configParams{
		Dir: d.dir, MailRoot: d.mailRoot, Passwd: d.passwd,
		UID: d.uid, GID: d.gid,
		InternalUser: internalUser, InternalGroup: internalGroup, LoginUser: loginUser,
		Debug: o.debug, Extra: o.extra, Introspect: o.introspect,
		NSPrefix: o.nsPrefix, NSSep: o.nsSep,
	}
	if _, err := os.Stat("/usr/share/dovecot/dh.pem"); err == nil {
		cfg.DH = "/usr/share/dovecot/dh.pem"
	}
	if o.introspect != "" {
		ext := fmt.Sprintf("introspection_mode = post\nintrospection_url = %s\nforce_introspection = yes\nusername_attribute = username\nactive_attribute = active\nactive_value = true\n", o.introspect)
		if err := os.WriteFile(filepath.Join(d.dir, "oauth2.conf.ext"), []byte(ext), 0o644); err != nil {
			t.Fatalf("dovecot: %v", err)
		}
	}

	// A free port may be taken by someone else between our probe and
	// Dovecot's bind; retry with fresh ports in that case.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(4)
		if err != nil {
			t.Fatalf("dovecot: free ports: %v", err)
		}
		d.IMAPPort, d.IMAPSPort, d.POP3Port, d.POP3SPort = ports[0], ports[1], ports[2], ports[3]
		cfg.Ports = ports
		if err := os.WriteFile(d.conf, []byte(cfg.render()), 0o644); err != nil {
			t.Fatalf("dovecot: %v", err)
		}
		lastErr = d.start()
		if lastErr == nil {
			break
		}
		d.stop()
		if !strings.Contains(d.logTail(), "Address already in use") && !strings.Contains(lastErr.Error(), "Address already in use") {
			break
		}
		_ = os.Truncate(d.logPath, 0)
	}
	if lastErr != nil {
		t.Fatalf("dovecot: starting dovecot: %v\n%s", lastErr, d.logTail())
	}
	t.Cleanup(d.stop)
	return d
}

// instanceDir returns a directory for the instance's files. It lives under
// t.TempDir() unless that path is too long for Dovecot's unix sockets, in
// which case a short directory is made under the system temp dir (or /tmp).
// All ancestors are made traversable, because Dovecot's unprivileged
// processes must reach the sockets, the passwd-file and the mail.
func instanceDir(t testing.TB) string {
	const maxBase = 60 // sun_path is 108 bytes; Dovecot adds up to ~40
	base := t.TempDir()
	if len(base)+len("/dcv/run") > maxBase {
		parent := os.TempDir()
		if len(parent) > maxBase-20 {
			parent = "/tmp"
		}
		dir, err := os.MkdirTemp(parent, "dcv")
		if err != nil {
			t.Fatalf("dovecot: %v", err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		base = dir
	} else {
		base = filepath.Join(base, "dcv")
		if err := os.Mkdir(base, 0o755); err != nil {
			t.Fatalf("dovecot: %v", err)
		}
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	if os.Geteuid() == 0 {
		// t.TempDir() and its parent are created 0700: open them up for
		// the dovecot, dovenull and nobody users.
		for p := filepath.Dir(base); p != "/" && p != "."; p = filepath.Dir(p) {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatalf("dovecot: %v", err)
			}
			if st.Mode().Perm()&0o011 != 0o011 {
				if err := os.Chmod(p, st.Mode().Perm()|0o011); err != nil {
					t.Fatalf("dovecot: %v", err)
				}
			}
		}
	}
	return base
}

type configParams struct {
	Dir, MailRoot, Passwd, DH              string
	UID, GID                               int
	InternalUser, InternalGroup, LoginUser string
	Ports                                  []int // imap, imaps, pop3, pop3s
	Debug                                  bool
	Extra                                  []string
	Introspect                             string // OAuth2 introspection URL, "" for none
	NSPrefix, NSSep                        string // personal namespace ("" and "/" by default)
}

func (c configParams) render() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# generated by mdsync internal/testkit/dovecot")
	p("base_dir = %s/run", c.Dir)
	p("state_dir = %s/state", c.Dir)
	p("instance_name = dovecot-test-%s", filepath.Base(c.Dir))
	// the greeting names the instance, so that start can tell its ports
	// from another instance's that took one of them first
	p("login_greeting = mdsync test %s ready", filepath.Base(c.Dir))
	p("log_path = %s/dovecot.log", c.Dir)
	p("info_log_path = %s/dovecot.log", c.Dir)
	p("debug_log_path = %s/dovecot.log", c.Dir)
	p("protocols = imap pop3")
	p("listen = 127.0.0.1")
	p("shutdown_clients = yes")
	p("default_internal_user = %s", c.InternalUser)
	p("default_internal_group = %s", c.InternalGroup)
	p("default_login_user = %s", c.LoginUser)
	p("first_valid_uid = %d", c.UID)
	p("last_valid_uid = %d", c.UID)
	p("first_valid_gid = %d", c.GID)
	p("last_valid_gid = %d", c.GID)
	p("ssl = yes")
	p("ssl_cert = <%s/cert.pem", c.Dir)
	p("ssl_key = <%s/key.pem", c.Dir)
	if c.DH != "" {
		p("ssl_dh = <%s", c.DH)
	}
	p("disable_plaintext_auth = no")
	if c.Introspect != "" {
		p("auth_mechanisms = plain login xoauth2 oauthbearer")
	} else {
		p("auth_mechanisms = plain login")
	}
	p("auth_failure_delay = 0")
	p("mail_location = maildir:%s/%%u/Maildir:LAYOUT=fs", c.MailRoot)
	p("mail_plugins =")
	p("mail_fsync = never")
	p("pop3_uidl_format = %%08Xu%%08Xv")
	sep := c.NSSep
	if sep == "" {
		sep = "/"
	}
	p("namespace inbox {\n  inbox = yes\n  separator = %s\n  prefix = %s\n}", sep, c.NSPrefix)
	// One passwd-file per user (see writePasswd for why).
	p("passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%%u %s/%%u\n}", c.Passwd)
	if c.Introspect != "" {
		p("passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s/oauth2.conf.ext\n}", c.Dir)
	}
	p("userdb {\n  driver = static\n  args = uid=%d gid=%d home=%s/%%u allow_all_users=yes\n}", c.UID, c.GID, c.MailRoot)
	p("service imap-login {\n  chroot =\n  inet_listener imap {\n    port = %d\n  }\n  inet_listener imaps {\n    port = %d\n    ssl = yes\n  }\n}", c.Ports[0], c.Ports[1])
	p("service pop3-login {\n  chroot =\n  inet_listener pop3 {\n    port = %d\n  }\n  inet_listener pop3s {\n    port = %d\n    ssl = yes\n  }\n}", c.Ports[2], c.Ports[3])
	// No chroots: they are pointless here and impossible without root.
	// Without the anvil-auth-penalty socket the auth process disables its
	// penalty (an exponential delay of up to 15 s after failed logins from
	// the same IP), which would make wrong-password tests slow.
	p("service anvil {\n  chroot =\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}")
	if c.Debug {
		p("auth_debug = yes")
		p("mail_debug = yes")
		p("verbose_ssl = yes")
	}
	for _, l := range c.Extra {
		p("%s", l)
	}
	return b.String()
}

// start launches the master in the foreground and waits for the ports.
func (d *Server) start() error {
	errf, err := os.Create(d.errPath)
	if err != nil {
		return err
	}
	defer errf.Close()
	cmd := exec.Command(d.dovecot, "-F", "-c", d.conf)
	cmd.Stdout, cmd.Stderr = errf, errf
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	d.cmd = cmd
	d.done = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(d.done)
	}()

	deadline := time.Now().Add(15 * time.Second)
	for _, port := range []int{d.IMAPPort, d.IMAPSPort, d.POP3Port, d.POP3SPort} {
		addr := net.JoinHostPort(d.Host(), strconv.Itoa(port))
		for {
			select {
			case <-d.done:
				return fmt.Errorf("dovecot exited early: %v", cmd.ProcessState)
			default:
			}
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				ours := d.isOurs(c, port)
				c.Close()
				if !ours {
					// another instance took the port first; this one
					// fails to bind it (the log says so) and exits
					select {
					case <-d.done:
					case <-time.After(10 * time.Second):
					}
					return fmt.Errorf("port %d: Address already in use (another instance)", port)
				}
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("port %d not accepting connections: %v", port, err)
			}
			time.Sleep(5 * time.Millisecond) // bounded port-poll loop
		}
	}
	return nil
}

// isOurs tells whether the server answering on c is this instance: its
// greeting (plain ports) or its certificate (TLS ports) is this one's.
func (d *Server) isOurs(c net.Conn, port int) bool {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if port == d.IMAPSPort || port == d.POP3SPort {
		return tls.Client(c, d.TLSConfig()).Handshake() == nil
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.Contains(line, "mdsync test "+filepath.Base(d.dir)+" ready")
}

// stop sends SIGTERM to the master and waits for it to exit. This takes
// about 1.1 s: after its children have exited, Dovecot's master sleeps one
// second to let its log process finish.
func (d *Server) stop() {
	if d.cmd == nil {
		return
	}
	select {
	case <-d.done:
	default:
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	}
	d.cmd = nil
}

// logTail returns the last lines of Dovecot's log and the master's stderr.
func (d *Server) logTail() string {
	var b strings.Builder
	for _, p := range []string{d.errPath, d.logPath} {
		data, err := os.ReadFile(p)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		fmt.Fprintf(&b, "--- tail of %s ---\n%s\n", p, strings.Join(lines, "\n"))
	}
	return b.String()
}

// LogTail returns the last lines of the instance's log files, for failure
// messages.
func (d *Server) LogTail() string { return d.logTail() }

// Host returns the address the server listens on, "127.0.0.1".
func (d *Server) Host() string { return "127.0.0.1" }

// IMAPAddr returns host:port of the plain IMAP listener.
func (d *Server) IMAPAddr() string { return net.JoinHostPort(d.Host(), strconv.Itoa(d.IMAPPort)) }

// IMAPSAddr returns host:port of the implicit-TLS IMAP listener.
func (d *Server) IMAPSAddr() string { return net.JoinHostPort(d.Host(), strconv.Itoa(d.IMAPSPort)) }

// POP3Addr returns host:port of the plain POP3 listener.
func (d *Server) POP3Addr() string { return net.JoinHostPort(d.Host(), strconv.Itoa(d.POP3Port)) }

// POP3SAddr returns host:port of the implicit-TLS POP3 listener.
func (d *Server) POP3SAddr() string { return net.JoinHostPort(d.Host(), strconv.Itoa(d.POP3SPort)) }

// CertPool returns a pool holding the server's self-signed certificate.
func (d *Server) CertPool() *x509.CertPool { return d.pool }

// CACertPEM returns the server's self-signed certificate in PEM form.
func (d *Server) CACertPEM() []byte { return append([]byte(nil), d.caPEM...) }

// TLSConfig returns a client TLS configuration that verifies the server's
// certificate for 127.0.0.1.
func (d *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: d.pool, ServerName: d.Host()}
}

// MailDir returns the root Maildir of user on the server side.
func (d *Server) MailDir(user string) string {
	return filepath.Join(d.mailRoot, user, "Maildir")
}

// AddUser adds user with password pass, or changes the password of an
// existing user; either is effective for the next login when AddUser
// returns.
//
// Dovecot's passwd-file driver stats a file at most once per second, so a
// file rewritten in the second of its last lookup is not reread at once.
// Each user therefore has a passwd-file of its own: a new user's file has
// never been looked up and is read at once. After a password change,
// AddUser checks with doveadm auth test until Dovecot accepts the new
// password (bounded; typically under a second).
func (d *Server) AddUser(t testing.TB, user, pass string) {
	t.Helper()
	if err := checkUser(user, pass); err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	d.mu.Lock()
	old, existed := d.users[user]
	d.users[user] = pass
	err := d.writePasswd(user, pass)
	d.mu.Unlock()
	if err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	if !existed || old == pass {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := d.doveadmErr("auth", "test", "-x", "service=imap", user, pass)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dovecot: new password of %q not accepted: %v\n%s\n%s", user, err, out, d.logTail())
		}
	}
}

func checkUser(user, pass string) error {
	if user == "" || user == "." || user == ".." || strings.ContainsAny(user, ":/\x00\r\n\t%") ||
		strings.ContainsAny(pass, ":\x00\r\n") {
		return fmt.Errorf("invalid user name or password for %q", user)
	}
	return nil
}

// password returns the password user was created with.
func (d *Server) password(t testing.TB, user string) string {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	pass, ok := d.users[user]
	if !ok {
		t.Fatalf("dovecot: unknown user %q (use WithUser or AddUser)", user)
	}
	return pass
}

// writePasswd atomically writes the passwd-file of user. Callers hold d.mu
// (or are Start).
func (d *Server) writePasswd(user, pass string) error {
	path := filepath.Join(d.passwd, user)
	tmp := filepath.Join(d.dir, "passwd.tmp")
	if err := os.WriteFile(tmp, []byte(user+":{PLAIN}"+pass+"::::::\n"), 0o644); err != nil {
		return err
	}
	// Dovecot rereads the file only if its mtime (in seconds) or size
	// changed: make sure the mtime does.
	mtime := time.Now().Truncate(time.Second)
	if st, err := os.Stat(path); err == nil && !mtime.After(st.ModTime()) {
		mtime = st.ModTime().Truncate(time.Second).Add(time.Second)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Doveadm runs doveadm against this instance and returns its combined
// output; a failure is fatal.
func (d *Server) Doveadm(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.doveadmErr(args...)
	if err != nil {
		t.Fatalf("dovecot: doveadm %s: %v\n%s\n%s", strings.Join(args, " "), err, out, d.logTail())
	}
	return out
}

func (d *Server) doveadmErr(args ...string) (string, error) {
	cmd := exec.Command(d.doveadm, append([]string{"-c", d.conf}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// selfSignedCert makes an ECDSA P-256 certificate for 127.0.0.1 and
// localhost that is its own CA.
func selfSignedCert() (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mdsync test server", Organization: []string{"mdsync tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}
