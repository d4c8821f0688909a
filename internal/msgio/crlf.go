package msgio

import (
	"bufio"
	"io"
)

// CRLFCounter counts the size of a stream once every bare LF becomes CRLF.
type CRLFCounter struct {
	n      int64
	bareLF int64
	lastCR bool
}

func (c *CRLFCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' && !c.lastCR {
			c.bareLF++
		}
		c.lastCR = b == '\r'
	}
	c.n += int64(len(p))
	return len(p), nil
}

// Size is the stream's size with CRLF line endings.
func (c *CRLFCounter) Size() int64 { return c.n + c.bareLF }

// CRLFReader turns bare LF into CRLF on the way to the server.
type CRLFReader struct {
	r      *bufio.Reader
	lastCR bool
	held   bool // an LF is owed after the CR just emitted
}

// NewCRLFReader reads r with every bare LF turned into CRLF.
func NewCRLFReader(r io.Reader) *CRLFReader { return &CRLFReader{r: bufio.NewReaderSize(r, 64<<10)} }

func (c *CRLFReader) Read(p []byte) (int, error) {
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
