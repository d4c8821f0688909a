package mailnet

import (
	"bytes"
	"io"
	"sync"
)

// maxPending is how much of an unfinished line a trace writer holds: a
// long literal (a message body) is passed on in pieces rather than kept.
const maxPending = 64 << 10

// lineWriter passes what is written on line by line, each line rewritten
// by edit, so that the lines of several writers on one stream stay whole
// and a rule sees a line at once, never split across two writes.
type lineWriter struct {
	mu   sync.Mutex
	w    io.Writer
	edit func(line []byte) []byte
	buf  []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		line := l.buf[:i+1]
		l.buf = l.buf[i+1:]
		if _, err := l.w.Write(l.edit(line)); err != nil {
			return 0, err
		}
	}
	if len(l.buf) > maxPending {
		out := l.edit(l.buf)
		l.buf = l.buf[:0]
		if _, err := l.w.Write(out); err != nil {
			return 0, err
		}
	}
	if len(l.buf) == 0 {
		l.buf = nil // do not pin a large literal's array
	}
	return len(p), nil
}
