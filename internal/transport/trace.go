package transport

import (
	"bytes"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
)

// connSeq numbers the IMAP connections of a process for trace tags.
var connSeq atomic.Int64

// NextConnTag returns the trace tag of a new IMAP connection: [c1], [c2]...
func NextConnTag() string {
	return "[c" + strconv.FormatInt(connSeq.Add(1), 10) + "] "
}

// Tagged writes every line of a protocol trace with tag in front, so that
// the lines of several connections on one stderr can be told apart. Lines
// are written whole (buffered up to their end).
func Tagged(w io.Writer, tag string) io.Writer {
	if w == nil {
		return nil
	}
	return &tagged{w: w, tag: []byte(tag)}
}

type tagged struct {
	mu  sync.Mutex
	w   io.Writer
	tag []byte
	buf []byte
}

func (t *tagged) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	for {
		i := bytes.IndexByte(t.buf, '\n')
		if i < 0 {
			break
		}
		line := append(append([]byte{}, t.tag...), t.buf[:i+1]...)
		if _, err := t.w.Write(line); err != nil {
			return 0, err
		}
		t.buf = t.buf[i+1:]
	}
	if len(t.buf) > 64<<10 { // a long literal: pass it on
		t.w.Write(append(append([]byte{}, t.tag...), t.buf...))
		t.buf = t.buf[:0]
	}
	return len(p), nil
}
