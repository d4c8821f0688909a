package msgio

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// LFWriter turns CRLF into LF on the way to a Maildir file (Maildir files
// hold Unix line endings, as mutt and mbsync expect) and feeds the result to
// a hash and a header sniffer.
type LFWriter struct {
	w       io.Writer
	h       hash.Hash
	pending bool // a CR was held back at the end of the last chunk
	buf     []byte
	hdr     Header
	body    *bodyTee // nil unless the body is measured for content matching
	n       int64    // bytes written out
}

// NewLFWriter writes to w what is written to it, CRLF turned into LF.
func NewLFWriter(w io.Writer) *LFWriter {
	return &LFWriter{w: w, h: sha256.New()}
}

func (l *LFWriter) Write(p []byte) (int, error) {
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

func (l *LFWriter) emit(b []byte) error {
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
func (l *LFWriter) Flush() error {
	if l.pending {
		l.pending = false
		return l.emit([]byte{'\r'})
	}
	return nil
}

// Fingerprint is the SHA-256 of what was written out, in hex.
func (l *LFWriter) Fingerprint() string { return hex.EncodeToString(l.h.Sum(nil)) }

// Header is the header block seen so far.
func (l *LFWriter) Header() *Header { return &l.hdr }

// MeasureBody makes the writer hash and measure the body too (BodySum);
// call it before the first Write.
func (l *LFWriter) MeasureBody() { l.body = newBodyTee() }

// BodySum returns the body's hash and its size with CRLF line endings
// (MeasureBody).
func (l *LFWriter) BodySum() (string, int64) { return l.body.Sum() }
