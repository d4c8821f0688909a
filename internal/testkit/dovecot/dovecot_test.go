package dovecot

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestDovecotProtocols(t *testing.T) {
	t.Parallel()
	d := Start(t, WithUser("alice", "secret"))

	checkCaps := func(t *testing.T, c *imapclient.Client) {
		t.Helper()
		caps, err := c.Capability().Wait()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []imap.Cap{imap.CapCondStore, imap.CapQResync, imap.CapUIDPlus, imap.CapMove, imap.CapListStatus, imap.CapESearch} {
			if _, ok := caps[want]; !ok {
				t.Errorf("capability %s missing from %v", want, caps)
			}
		}
	}

	t.Run("IMAP", func(t *testing.T) {
		c := d.Client(t, "alice", "secret")
		checkCaps(t, c)
	})
	t.Run("IMAPWrongPassword", func(t *testing.T) {
		c, err := imapclient.DialInsecure(d.IMAPAddr(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login("alice", "wrong").Wait(); err == nil {
			t.Fatal("login with a wrong password succeeded")
		}
	})
	t.Run("IMAPS", func(t *testing.T) {
		c, err := imapclient.DialTLS(d.IMAPSAddr(), &imapclient.Options{TLSConfig: d.TLSConfig()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login("alice", "secret").Wait(); err != nil {
			t.Fatal(err)
		}
		checkCaps(t, c)
	})
	t.Run("IMAPSUntrusted", func(t *testing.T) {
		// Without our pool the self-signed certificate must be refused.
		c, err := imapclient.DialTLS(d.IMAPSAddr(), &imapclient.Options{TLSConfig: &tls.Config{ServerName: "127.0.0.1"}})
		if err == nil {
			c.Close()
			t.Fatal("TLS handshake with an untrusted certificate succeeded")
		}
	})
	t.Run("IMAPSLocalhost", func(t *testing.T) {
		conn, err := tls.Dial("tcp", d.IMAPSAddr(), &tls.Config{RootCAs: d.CertPool(), ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	})
	t.Run("STARTTLS", func(t *testing.T) {
		c, err := imapclient.DialStartTLS(d.IMAPAddr(), &imapclient.Options{TLSConfig: d.TLSConfig()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login("alice", "secret").Wait(); err != nil {
			t.Fatal(err)
		}
		checkCaps(t, c)
	})
	t.Run("POP3", func(t *testing.T) {
		conn, err := net.Dial("tcp", d.POP3Addr())
		if err != nil {
			t.Fatal(err)
		}
		popLogin(t, conn, false)
	})
	t.Run("POP3STLS", func(t *testing.T) {
		conn, err := net.Dial("tcp", d.POP3Addr())
		if err != nil {
			t.Fatal(err)
		}
		popLogin(t, conn, true, d.TLSConfig())
	})
	t.Run("POP3S", func(t *testing.T) {
		conn, err := tls.Dial("tcp", d.POP3SAddr(), d.TLSConfig())
		if err != nil {
			t.Fatal(err)
		}
		popLogin(t, conn, false)
	})
}

// popLogin reads the greeting, optionally upgrades with STLS, logs in as
// alice and checks that STAT answers.
func popLogin(t *testing.T, conn net.Conn, stls bool, cfg ...*tls.Config) {
	t.Helper()
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	cmd := func(format string, args ...any) string {
		t.Helper()
		if format != "" {
			if err := tp.PrintfLine(format, args...); err != nil {
				t.Fatal(err)
			}
		}
		l, err := tp.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(l, "+OK") {
			t.Fatalf("%q: got %q", format, l)
		}
		return l
	}
	cmd("") // greeting
	if stls {
		cmd("STLS")
		tc := tls.Client(conn, cfg[0])
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		tp = textproto.NewConn(tc)
	}
	cmd("USER alice")
	cmd("PASS secret")
	stat := cmd("STAT")
	var n, size int
	if _, err := fmt.Sscanf(stat, "+OK %d %d", &n, &size); err != nil {
		t.Fatalf("STAT: %q: %v", stat, err)
	}
	cmd("QUIT")
}

func TestDovecotMailboxes(t *testing.T) {
	t.Parallel()
	d := Start(t, WithUser("bob", "pw1"))
	const u = "bob"

	d.CreateFolder(t, u, "Archive/2023")
	d.CreateFolder(t, u, "Entwürfe")
	d.CreateFolder(t, u, "Trash")
	d.DeleteFolder(t, u, "Trash")
	got := d.Folders(t, u)
	// "Archive" is only a \Noselect parent directory.
	want := []string{"Archive/2023", "Entwürfe", "INBOX"}
	if !slices.Equal(got, want) {
		t.Fatalf("folders = %q, want %q", got, want)
	}
	// Nested folders are nested directories; non-ASCII names are mUTF-7.
	for _, dir := range []string{"Archive/2023", "Entw&APw-rfe"} {
		if st, err := os.Stat(filepath.Join(d.MailDir(u), dir)); err != nil || !st.IsDir() {
			t.Errorf("expected directory %s: %v", dir, err)
		}
	}

	m1, m2, m3 := GenMessage(1, 0, 2000), GenMessage(1, 1, 300), GenMessage(1, 2, 5000)
	uid1 := d.Append(t, u, "INBOX", m1)
	uid2 := d.Append(t, u, "INBOX", m2, imap.FlagSeen)
	uid3 := d.Append(t, u, "Entwürfe", m3, imap.FlagDraft)
	if uid1 != 1 || uid2 != 2 || uid3 != 1 {
		t.Fatalf("uids = %d %d %d", uid1, uid2, uid3)
	}
	d.SetFlags(t, u, "INBOX", uid1, imap.StoreFlagsAdd, imap.FlagFlagged, imap.FlagAnswered, "$Label1")
	d.SetFlags(t, u, "INBOX", uid2, imap.StoreFlagsDel, imap.FlagSeen)
	a0, a1, a2 := GenMessage(2, 0, 100), GenMessage(2, 1, 100), GenMessage(2, 2, 100)
	uids := d.AppendMany(t, u, "Archive/2023", [][]byte{a0, a1, a2})
	d.Expunge(t, u, "Archive/2023", uids[1])

	snap := d.Snapshot(t, u)
	check := func(folder string, want []ServerMsg) {
		t.Helper()
		got := snap[folder]
		if len(got) != len(want) {
			t.Fatalf("%s: %d messages, want %d: %+v", folder, len(got), len(want), got)
		}
		for i := range want {
			if got[i].UID != want[i].UID || !slices.Equal(got[i].Flags, want[i].Flags) ||
				got[i].SHA256 != want[i].SHA256 || got[i].Size != want[i].Size {
				t.Errorf("%s[%d] = %+v, want %+v", folder, i, got[i], want[i])
			}
		}
	}
	check("INBOX", []ServerMsg{
		{UID: 1, Flags: []string{"$Label1", `\Answered`, `\Flagged`}, Size: int64(len(m1)), SHA256: BodySHA256(m1)},
		{UID: 2, Flags: []string{}, Size: int64(len(m2)), SHA256: BodySHA256(m2)},
	})
	check("Entwürfe", []ServerMsg{{UID: 1, Flags: []string{`\Draft`}, Size: int64(len(m3)), SHA256: BodySHA256(m3)}})
	check("Archive/2023", []ServerMsg{
		{UID: 1, Flags: []string{}, Size: int64(len(a0)), SHA256: BodySHA256(a0)},
		{UID: 3, Flags: []string{}, Size: int64(len(a2)), SHA256: BodySHA256(a2)},
	})
	if _, ok := snap["Archive"]; ok || len(snap) != 3 {
		t.Errorf("snapshot folders: %v", slices.Sorted(maps.Keys(snap)))
	}

	v1, v2 := d.UIDValidity(t, u, "INBOX"), d.UIDValidity(t, u, "Entwürfe")
	if v1 == 0 || v2 == 0 || v1 == v2 {
		t.Errorf("uidvalidity INBOX=%d Entwürfe=%d", v1, v2)
	}
	caps := d.Capabilities(t, u)
	for _, c := range []string{"CONDSTORE", "QRESYNC", "UIDPLUS", "MOVE", "LIST-STATUS", "ESEARCH"} {
		if !slices.Contains(caps, c) {
			t.Errorf("capability %s missing: %v", c, caps)
		}
	}
}

func TestDovecotAddUser(t *testing.T) {
	t.Parallel()
	d := Start(t)
	try := func(user, pass string) error {
		c, err := d.login(user, pass)
		if err == nil {
			closeClient(c)
		}
		return err
	}
	if try("carol", "one") == nil {
		t.Fatal("login before AddUser succeeded")
	}
	d.AddUser(t, "carol", "one")
	if err := try("carol", "one"); err != nil {
		t.Fatalf("login after AddUser: %v", err)
	}
	// Same length, same second as the last lookup: still effective.
	d.AddUser(t, "carol", "two")
	if try("carol", "one") == nil {
		t.Fatal("old password still accepted")
	}
	if err := try("carol", "two"); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	d.AddUser(t, "dave", "x")
	d.Append(t, "dave", "INBOX", GenMessage(3, 0, 100))
	if got := d.Doveadm(t, "mailbox", "status", "-u", "dave", "messages", "INBOX"); !strings.Contains(got, "messages=1") {
		t.Fatalf("doveadm mailbox status: %q", got)
	}
	if st, err := os.Stat(d.MailDir("dave")); err != nil || !st.IsDir() {
		t.Fatalf("MailDir: %v", err)
	}
}

func TestDovecotBulkLoad(t *testing.T) {
	t.Parallel()
	d := Start(t, WithUser("erin", "pw"))
	const n = 1000
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = GenMessage(42, i, 1000+i%7*300)
	}
	start := time.Now()
	d.BulkLoad(t, "erin", "Archive/Bulk", msgs)
	d.BulkLoad(t, "erin", "INBOX", msgs[:10])
	t.Logf("BulkLoad of %d messages: %v", n, time.Since(start))

	start = time.Now()
	snap := d.Snapshot(t, "erin")
	t.Logf("Snapshot: %v", time.Since(start))
	got := snap["Archive/Bulk"]
	if len(got) != n {
		t.Fatalf("Archive/Bulk has %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		if m.UID != imap.UID(i+1) || m.SHA256 != BodySHA256(msgs[i]) || m.Size != int64(len(msgs[i])) || len(m.Flags) != 0 {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
	if len(snap["INBOX"]) != 10 {
		t.Fatalf("INBOX has %d messages", len(snap["INBOX"]))
	}
	// Later IMAP operations work on the bulk-loaded folder.
	uid := d.Append(t, "erin", "Archive/Bulk", GenMessage(43, 0, 100))
	if uid != n+1 {
		t.Fatalf("appended uid %d, want %d", uid, n+1)
	}
	// POP3 sees the INBOX.
	conn, err := net.Dial("tcp", d.POP3Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	fmt.Fprintf(conn, "USER erin\r\nPASS pw\r\nSTAT\r\n")
	var lines []string
	for range 4 {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.TrimSpace(l))
	}
	if !strings.HasPrefix(lines[3], "+OK 10 ") {
		t.Fatalf("POP3 STAT: %q", lines)
	}
}

// fakeTB records Skip and Fatal calls; both end the calling goroutine's
// function via panic, like runtime.Goexit does for a real test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

type fakeTBStop struct{}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped = fmt.Sprint(args...)
	panic(fakeTBStop{})
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	panic(fakeTBStop{})
}

func TestStartMissing(t *testing.T) {
	orig := lookupBinary
	lookupBinary = func(string) string { return "" }
	defer func() { lookupBinary = orig }()
	run := func(require string) *fakeTB {
		t.Setenv(RequireEnv, require)
		f := &fakeTB{TB: t}
		func() {
			defer func() {
				if r := recover(); r != nil && r != (fakeTBStop{}) {
					panic(r)
				}
			}()
			Start(f)
		}()
		return f
	}
	if f := run(""); f.skipped != "dovecot not installed" || f.failed != "" {
		t.Errorf("without %s: skipped=%q failed=%q", RequireEnv, f.skipped, f.failed)
	}
	if f := run("1"); f.skipped != "" || !strings.Contains(f.failed, "not installed") {
		t.Errorf("with %s=1: skipped=%q failed=%q", RequireEnv, f.skipped, f.failed)
	}
}
