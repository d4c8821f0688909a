package dovecot

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
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
		Extra: o.extra, Introspect: o.introspect,
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
