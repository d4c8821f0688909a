package msgio

import (
	"bytes"
	"io"
	"net/mail"
	"strings"
	"time"
)

// Header keeps the header block (up to 64 KiB) of a streamed message.
type Header struct {
	buf      []byte
	done     bool
	complete bool // the blank line that ends the header was seen
}

// Write adds p to the header seen, up to its end.
func (s *Header) Write(p []byte) {
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

// ReadHeader reads r up to the end of its header block (at most 64 KiB),
// not the body.
func ReadHeader(r io.Reader) (*Header, error) {
	h := &Header{}
	buf := make([]byte, 8<<10)
	for !h.done {
		n, err := r.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return h, nil
}

// HeadKey returns the headKey of the header block, or "" when the header
// was not seen whole.
func (s *Header) HeadKey() string {
	if !s.complete {
		return ""
	}
	return HeadKey(s.buf)
}

// MessageID returns the Message-ID of the header block, or "".
func (s *Header) MessageID() string { return HeaderValue(s.buf, "Message-Id") }

// Date returns the parsed Date header, or the zero time.
func (s *Header) Date() time.Time {
	v := HeaderValue(s.buf, "Date")
	if v == "" {
		return time.Time{}
	}
	t, err := mail.ParseDate(v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// HeaderValue is the value of field name in a header block ("" if none);
// a damaged block is read line by line.
func HeaderValue(block []byte, name string) string {
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
