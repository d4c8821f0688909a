package pop3

import (
	"bufio"
	"io"
)

// dotReader reads a multi-line answer up to its terminating "." line,
// undoing the dot-stuffing and turning CRLF into LF, as textproto's
// DotReader does; but a line at a time (ReadSlice) instead of a byte at a
// time, which matters for hundreds of megabytes. Lines longer than the
// buffer pass through in pieces. EOF before the terminating line is
// io.ErrUnexpectedEOF.
type dotReader struct {
	br      *bufio.Reader
	pending []byte // what is left of the current piece
	midLine bool   // the last piece did not end a line
	heldCR  bool   // a piece ended in '\r': emit it unless '\n' follows
	done    bool
}

func (d *dotReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(d.pending) > 0 {
			k := copy(p[n:], d.pending)
			d.pending = d.pending[k:]
			n += k
			continue
		}
		if d.done {
			if n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		if n > 0 && d.br.Buffered() == 0 {
			return n, nil // do not block with data in hand
		}
		if d.heldCR {
			b, err := d.br.Peek(1)
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n, err
			}
			d.heldCR = false
			if b[0] != '\n' { // a bare CR stays
				p[n] = '\r'
				n++
				continue
			}
		}
		line, err := d.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		if !d.midLine && len(line) > 0 && line[0] == '.' {
			if err == nil && (len(line) == 2 && line[1] == '\n' || len(line) == 3 && line[1] == '\r' && line[2] == '\n') {
				d.done = true
				continue
			}
			line = line[1:]
		}
		if err == bufio.ErrBufferFull {
			d.midLine = true
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line, d.heldCR = line[:len(line)-1], true
			}
		} else {
			d.midLine = false
			if len(line) >= 2 && line[len(line)-2] == '\r' {
				line[len(line)-2] = '\n'
				line = line[:len(line)-1]
			}
		}
		d.pending = line
	}
	return n, nil
}
