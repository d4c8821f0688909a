package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// sample is one message of testdata/demo/manifest.txt.
type sample struct {
	Folder    string
	File      string
	Flags     []imap.Flag
	MessageID string
	Subject   string // decoded
	Raw       []byte // CRLF line endings
	Date      time.Time
	UID       imap.UID // once appended
}

// loadSamples reads the manifest (tab-separated: folder, file, flags) and
// the messages it names.
func loadSamples(dir string) ([]*sample, error) {
	mf := filepath.Join(dir, "manifest.txt")
	f, err := os.Open(mf)
	if err != nil {
		return nil, fmt.Errorf("%w (run the demo from the repository root, or pass -data)", err)
	}
	defer f.Close()
	var out []*sample
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 || fields[0] == "" || fields[1] == "" {
			return nil, fmt.Errorf("%s:%d: want folder<TAB>file<TAB>flags", mf, n)
		}
		s := &sample{Folder: fields[0], File: fields[1]}
		for _, fl := range strings.Fields(fields[2]) {
			s.Flags = append(s.Flags, imap.Flag(fl))
		}
		b, err := os.ReadFile(filepath.Join(dir, s.File))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", mf, n, err)
		}
		s.Raw = toCRLF(b)
		m, err := mail.ReadMessage(bytes.NewReader(s.Raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.File, err)
		}
		s.MessageID = m.Header.Get("Message-Id")
		s.Subject = decodeHeader(m.Header.Get("Subject"))
		if s.Date, err = m.Header.Date(); err != nil {
			return nil, fmt.Errorf("%s: %w", s.File, err)
		}
		if s.MessageID == "" {
			return nil, fmt.Errorf("%s: no Message-ID", s.File)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no messages", mf)
	}
	return out, nil
}

func toCRLF(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// server is the demo's in-process IMAP server.
type server struct {
	Addr, User, Pass string
	srv              *imapserver.Server
	done             chan struct{}
}

// startServer listens on a free loopback port and seeds one user's
// mailboxes with the samples, recording each one's UID.
func startServer(samples []*sample, logw io.Writer) (*server, error) {
	pw := make([]byte, 8)
	rand.Read(pw)
	s := &server{User: "demo", Pass: "demo-" + hex.EncodeToString(pw), done: make(chan struct{})}
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(s.User, s.Pass)
	created := map[string]bool{}
	for _, name := range append([]string{"INBOX"}, folderOrder(samples)...) {
		if created[name] {
			continue
		}
		if err := u.Create(name, nil); err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		created[name] = true
	}
	for _, m := range samples {
		data, err := u.Append(m.Folder, bytes.NewReader(m.Raw), &imap.AppendOptions{Flags: m.Flags, Time: m.Date})
		if err != nil {
			return nil, fmt.Errorf("append %s to %s: %w", m.File, m.Folder, err)
		}
		m.UID = data.UID
	}
	mem.AddUser(u)
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       log.New(logw, "demo server: ", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.Addr = ln.Addr().String()
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server and waits for it.
func (s *server) Close() {
	_ = s.srv.Close()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
}

// folderOrder lists the samples' folders in manifest order.
func folderOrder(samples []*sample) []string {
	var names []string
	seen := map[string]bool{}
	for _, m := range samples {
		if !seen[m.Folder] {
			seen[m.Folder] = true
			names = append(names, m.Folder)
		}
	}
	return names
}

// client is a second IMAP client (think: your phone) on the demo server.
type client struct {
	c *imapclient.Client
}

func dial(s *server, deadline time.Time) (*client, error) {
	conn, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(deadline) // every command below ends by then
	c := imapclient.New(conn, nil)
	if err := c.Login(s.User, s.Pass).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login: %w", err)
	}
	return &client{c: c}, nil
}

func (c *client) Close() {
	_ = c.c.Logout().Wait()
	c.c.Close()
}

// addFlag sets flag on one message, as another mail client would.
func (c *client) addFlag(folder string, uid imap.UID, flag imap.Flag) error {
	if _, err := c.c.Select(folder, nil).Wait(); err != nil {
		return fmt.Errorf("select %s: %w", folder, err)
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{flag}, Silent: true}
	if err := c.c.Store(imap.UIDSetNum(uid), store, nil).Close(); err != nil {
		return fmt.Errorf("store %s UID %d: %w", folder, uid, err)
	}
	return nil
}

// flags reads one message's flags.
func (c *client) flags(folder string, uid imap.UID) ([]imap.Flag, error) {
	if _, err := c.c.Select(folder, nil).Wait(); err != nil {
		return nil, fmt.Errorf("select %s: %w", folder, err)
	}
	msgs, err := c.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetch %s UID %d: %w", folder, uid, err)
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("%s UID %d: gone from the server", folder, uid)
	}
	return msgs[0].Flags, nil
}

func hasFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, x := range flags {
		if strings.EqualFold(string(x), string(f)) {
			return true
		}
	}
	return false
}

func flagString(flags []imap.Flag) string {
	s := make([]string, len(flags))
	for i, f := range flags {
		s[i] = string(f)
	}
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, " ")
}
