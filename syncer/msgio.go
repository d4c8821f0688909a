package syncer

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/mail"
	"os"
	"strings"
	"time"
)

// lfWriter turns CRLF into LF on the way to a Maildir file (Maildir files
// hold Unix line endings, as mutt and mbsync expect) and feeds the result to
// a hash and a header sniffer.
type lfWriter struct {
	w       io.Writer
	h       hash.Hash
	pending bool // a CR was held back at the end of the last chunk
	buf     []byte
	hdr     headerSniffer
	body    *bodyTee // nil unless the body is measured for content matching
	n       int64    // bytes written out
}

func newLFWriter(w io.Writer) *lfWriter {
	return &lfWriter{w: w, h: sha256.New()}
}

func (l *lfWriter) Write(p []byte) (int, error) {
	out := l.buf[:0]
	if l.pending {
		l.pending = false
		if len(p) == 0 || p[0] != '\n' {
			out = append(out, '\r')
		}
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\r' {
			if i+1 == len(p) {
				l.pending = true
				continue
			}
			if p[i+1] == '\n' {
				continue
			}
		}
		out = append(out, c)
	}
	l.buf = out
	if err := l.emit(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (l *lfWriter) emit(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	l.h.Write(b)
	l.hdr.Write(b)
	if l.body != nil {
		l.body.Write(b)
	}
	l.n += int64(len(b))
	_, err := l.w.Write(b)
	return err
}

// Flush writes a CR held back at the very end.
func (l *lfWriter) Flush() error {
	if l.pending {
		l.pending = false
		return l.emit([]byte{'\r'})
	}
	return nil
}

func (l *lfWriter) Fingerprint() string { return hex.EncodeToString(l.h.Sum(nil)) }

// headerSniffer keeps the header block (up to 64 KiB) of a streamed message.
type headerSniffer struct {
	buf      []byte
	done     bool
	complete bool // the blank line that ends the header was seen
}

func (s *headerSniffer) Write(p []byte) {
	if s.done {
		return
	}
	s.buf = append(s.buf, p...)
	if i := bytes.Index(s.buf, []byte("\n\n")); i >= 0 {
		s.buf, s.done, s.complete = s.buf[:i+1], true, true
	} else if i := bytes.Index(s.buf, []byte("\r\n\r\n")); i >= 0 {
		s.buf, s.done, s.complete = s.buf[:i+2], true, true
	} else if len(s.buf) > 64<<10 {
		s.buf, s.done = s.buf[:64<<10], true
	}
}

// HeadKey returns the headKey of the header block, or "" when the header
// was not seen whole.
func (s *headerSniffer) HeadKey() string {
	if !s.complete {
		return ""
	}
	return headKey(s.buf)
}

// MessageID returns the Message-ID of the header block, or "".
func (s *headerSniffer) MessageID() string { return headerValue(s.buf, "Message-Id") }

// Date returns the parsed Date header, or the zero time.
func (s *headerSniffer) Date() time.Time {
	v := headerValue(s.buf, "Date")
	if v == "" {
		return time.Time{}
	}
	t, err := mail.ParseDate(v)
	if err != nil {
		return time.Time{}
	}
	return t
}

func headerValue(block []byte, name string) string {
	if len(block) == 0 {
		return ""
	}
	b := block
	if !bytes.HasSuffix(b, []byte("\n\n")) {
		b = append(append([]byte{}, b...), '\n', '\n')
	}
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		// tolerate a damaged header block: scan lines
		for _, line := range strings.Split(string(block), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	return strings.TrimSpace(m.Header.Get(name))
}

// LocalInfo is what a pass over a local file tells: its size once uploaded
// (with CRLF line endings), its fingerprint, Message-ID and date, and its
// identity for content matching (see identity.go).
type LocalInfo struct {
	CRLFSize    int64
	Fingerprint string
	MessageID   string
	Date        time.Time
	HeadKey     string // "" when the header could not be read whole
	BodyHash    string
	BodySize    int64 // with CRLF line endings
}

// ReadLocalInfo reads a Maildir file once.
func ReadLocalInfo(path string) (LocalInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return LocalInfo{}, err
	}
	defer f.Close()
	lw := newLFWriter(io.Discard)
	lw.body = newBodyTee()
	cr := &crlfCounter{}
	if _, err := io.Copy(io.MultiWriter(lw, cr), f); err != nil {
		return LocalInfo{}, err
	}
	lw.Flush()
	info := LocalInfo{CRLFSize: cr.size(), Fingerprint: lw.Fingerprint(), MessageID: lw.hdr.MessageID(), Date: lw.hdr.Date(), HeadKey: lw.hdr.HeadKey()}
	info.BodyHash, info.BodySize = lw.body.Sum()
	if info.Date.IsZero() {
		if fi, err := f.Stat(); err == nil {
			info.Date = fi.ModTime()
		}
	}
	return info, nil
}

// crlfCounter counts the size of a stream once every bare LF becomes CRLF.
type crlfCounter struct {
	n      int64
	bareLF int64
	lastCR bool
}

func (c *crlfCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' && !c.lastCR {
			c.bareLF++
		}
		c.lastCR = b == '\r'
	}
	c.n += int64(len(p))
	return len(p), nil
}

func (c *crlfCounter) size() int64 { return c.n + c.bareLF }

// crlfReader turns bare LF into CRLF on the way to the server.
type crlfReader struct {
	r      *bufio.Reader
	lastCR bool
	held   bool // an LF is owed after the CR just emitted
}

func newCRLFReader(r io.Reader) *crlfReader { return &crlfReader{r: bufio.NewReaderSize(r, 64<<10)} }

func (c *crlfReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.held {
			p[n] = '\n'
			n++
			c.held, c.lastCR = false, false
			continue
		}
		b, err := c.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b == '\n' && !c.lastCR {
			p[n] = '\r'
			n++
			c.held = true
			continue
		}
		p[n] = b
		n++
		c.lastCR = b == '\r'
	}
	return n, nil
}
