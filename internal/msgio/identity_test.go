package msgio

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestHeadKey: the fields other tools add do not change a header's key;
// anything else does.
func TestHeadKey(t *testing.T) {
	base := "From: a@example.org\nSubject: hello\n  folded\nMessage-ID: <1@x>\n\n"
	tests := []struct {
		name  string
		block string
		same  bool
	}{
		{"identical", base, true},
		{"CRLF endings", "From: a@example.org\r\nSubject: hello\r\n  folded\r\nMessage-ID: <1@x>\r\n\r\n", true},
		{"no blank line", "From: a@example.org\nSubject: hello\n  folded\nMessage-ID: <1@x>\n", true},
		{"mbsync X-TUID at the end", "From: a@example.org\nSubject: hello\n  folded\nMessage-ID: <1@x>\nX-TUID: AbCdEfGhIjKl\n\n", true},
		{"X-OfflineIMAP folded", "X-OfflineIMAP: 123-456\n 789\nFrom: a@example.org\nSubject: hello\n  folded\nMessage-ID: <1@x>\n\n", true},
		{"X-OfflineIMAP-x", "From: a@example.org\nX-OfflineIMAP-Sync: 1\nSubject: hello\n  folded\nMessage-ID: <1@x>\n\n", true},
		{"mutt Status", "From: a@example.org\nSubject: hello\n  folded\nMessage-ID: <1@x>\nStatus: RO\nX-Status: A\n\n", true},
		{"delivery trace", "Return-Path: <a@example.org>\nDelivered-To: b@example.net\nFrom: a@example.org\nSubject: hello\n  folded\nMessage-ID: <1@x>\n\n", true},
		{"name case", "From: a@example.org\nSubject: hello\n  folded\nMessage-ID: <1@x>\nx-tuid: q\n\n", true},
		{"other subject", "From: a@example.org\nSubject: hullo\n  folded\nMessage-ID: <1@x>\n\n", false},
		{"other continuation", "From: a@example.org\nSubject: hello\n  unfolded\nMessage-ID: <1@x>\n\n", false},
		{"field order", "Subject: hello\n  folded\nFrom: a@example.org\nMessage-ID: <1@x>\n\n", false},
		{"extra field", "From: a@example.org\nSubject: hello\n  folded\nMessage-ID: <1@x>\nX-Spam: yes\n\n", false},
		{"other Message-ID", "From: a@example.org\nSubject: hello\n  folded\nMessage-ID: <2@x>\n\n", false},
	}
	want := HeadKey([]byte(base))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := HeadKey([]byte(tc.block))
			if (got == want) != tc.same {
				t.Errorf("same key = %v, want %v", got == want, tc.same)
			}
		})
	}
}

// TestBodyTee: the body is what follows the first empty line, its size the
// one it has with CRLF endings, whatever the chunking.
func TestBodyTee(t *testing.T) {
	tests := []struct {
		msg, body string
	}{
		{"A: 1\nB: 2\n\nline one\nline two\n", "line one\nline two\n"},
		{"A: 1\n\n\nafter an empty first line\n", "\nafter an empty first line\n"},
		{"\nno header\n", "no header\n"},
		{"A: 1\n", ""},
		{"A: 1\n\n", ""},
	}
	for _, tc := range tests {
		for _, chunk := range []int{1, 2, 3, 1 << 20} {
			b := newBodyTee()
			msg := []byte(tc.msg)
			for len(msg) > 0 {
				n := min(chunk, len(msg))
				b.Write(msg[:n])
				msg = msg[n:]
			}
			ref := newBodyTee()
			ref.inBody = true
			ref.Write([]byte(tc.body))
			gotH, gotN := b.Sum()
			wantH, _ := ref.Sum()
			wantN := int64(len(tc.body) + bytes.Count([]byte(tc.body), []byte{'\n'}))
			if gotH != wantH || gotN != wantN {
				t.Errorf("%q in chunks of %d: size %d, want %d; hash equal %v", tc.msg, chunk, gotN, wantN, gotH == wantH)
			}
		}
	}
}

// TestReadHeader: ReadHeader stops at the end of the header block, with LF
// or CRLF endings, and gives the same key as the whole message would; a
// header cut short by the end of the file is not complete (no key).
func TestReadHeader(t *testing.T) {
	hdr := "From: a@example.org\nSubject: s\nX-TUID: q\n\n"
	tests := []struct {
		name, msg string
		complete  bool
	}{
		{"LF", hdr + "body\n", true},
		{"CRLF", strings.ReplaceAll(hdr, "\n", "\r\n") + "body\r\n", true},
		{"header only", hdr, true},
		{"cut short", "From: a@example.org\nSubject: s", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &countingReader{r: strings.NewReader(tc.msg + strings.Repeat("x", 100<<10))}
			h, err := ReadHeader(r)
			if err != nil {
				t.Fatal(err)
			}
			got := h.HeadKey()
			if tc.complete && got != HeadKey([]byte(hdr)) {
				t.Errorf("key %q, want the header's %q", got, HeadKey([]byte(hdr)))
			}
			if !tc.complete && got != "" {
				t.Errorf("an incomplete header has key %q", got)
			}
			if tc.complete && r.n > 16<<10 {
				t.Errorf("read %d bytes: the body was read too", r.n)
			}
		})
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
