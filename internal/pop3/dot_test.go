package pop3

import (
	"bufio"
	"bytes"
	"io"
	"math/rand"
	"net/textproto"
	"testing"
)

// FuzzDotReader checks our line-at-a-time reader against the standard
// library's byte-at-a-time DotReader, with a tiny buffer so that long lines
// are split in pieces.
func FuzzDotReader(f *testing.F) {
	for _, s := range []string{
		"a\r\nb\r\n.\r\n",
		"..x\r\n...\r\n.\r\n",
		"long line without end",
		"x\r\r\ny\r\n.\r\n",
		"0123456789abcdef\r\n.\r\n",
		"0123456789abcde\r\n.\r\n",
		"0123456789abcdefghij\rk\r\n.\r\n",
		"\r\n.\r\n",
	} {
		f.Add([]byte(s), uint8(16), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, bufSize, readSize uint8) {
		// POP3 lines end in CRLF; on bare LF the standard library's reader
		// has quirks of its own (an LF-only line does not start a new line)
		for i, c := range in {
			if c == '\n' && (i == 0 || in[i-1] != '\r') {
				t.Skip()
			}
		}
		size := int(bufSize)%40 + 16
		rs := int(readSize)%17 + 1
		want, werr := io.ReadAll(textproto.NewReader(bufio.NewReaderSize(bytes.NewReader(in), size)).DotReader())
		d := &dotReader{br: bufio.NewReaderSize(bytes.NewReader(in), size)}
		var got []byte
		buf := make([]byte, rs)
		var gerr error
		for {
			n, err := d.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				if err != io.EOF {
					gerr = err
				}
				break
			}
		}
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("in %q: error %v, want %v", in, gerr, werr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("in %q (buf %d):\n got %q\nwant %q", in, size, got, want)
		}
	})
}

// TestDotReaderRandom runs random CRLF text with dots, bare CRs and long
// lines through both readers.
func TestDotReaderRandom(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	alphabet := []string{".", "..", "\r\n", "\r", "a", "bc", "0123456789012345678901234567890123456789", "\r\n.\r\n"}
	for i := 0; i < 20000; i++ {
		var b bytes.Buffer
		for j := r.Intn(30); j > 0; j-- {
			b.WriteString(alphabet[r.Intn(len(alphabet))])
		}
		if r.Intn(4) > 0 {
			b.WriteString("\r\n.\r\n")
		}
		in := b.Bytes()
		size := 16 + r.Intn(40)
		want, werr := io.ReadAll(textproto.NewReader(bufio.NewReaderSize(bytes.NewReader(in), size)).DotReader())
		got, gerr := io.ReadAll(&dotReader{br: bufio.NewReaderSize(bytes.NewReader(in), size)})
		if (werr == nil) != (gerr == nil) || werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("in %q (buf %d): got %q %v, want %q %v", in, size, got, gerr, want, werr)
		}
	}
}
