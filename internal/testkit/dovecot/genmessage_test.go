package dovecot

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
)

func TestGenMessage(t *testing.T) {
	a, b := GenMessage(7, 3, 4000), GenMessage(7, 3, 4000)
	if !bytes.Equal(a, b) {
		t.Fatal("not deterministic")
	}
	if bytes.Equal(a, GenMessage(7, 4, 4000)) || bytes.Equal(a, GenMessage(8, 3, 4000)) {
		t.Fatal("different (seed, i) give the same message")
	}
	for _, size := range []int{0, 100, 1000, 4000, 100000} {
		m := GenMessage(7, 2, size)
		if size >= 1000 && (len(m) < size-80 || len(m) > size) {
			t.Errorf("size %d: got %d bytes", size, len(m))
		}
		if bytes.Count(m, []byte("\n")) != bytes.Count(m, []byte("\r\n")) || !bytes.HasSuffix(m, []byte("\r\n")) {
			t.Errorf("size %d: not CRLF throughout", size)
		}
		for _, l := range strings.Split(string(m), "\r\n") {
			if len(l) > 76 {
				t.Errorf("size %d: line of %d chars: %q", size, len(l), l)
			}
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get("Message-ID") != "<7.2.mdsync@test.example>" || !strings.Contains(msg.Header.Get("Subject"), "message 2 ") {
			t.Errorf("headers: %v", msg.Header)
		}
		if _, err := msg.Header.Date(); err != nil {
			t.Error(err)
		}
	}
	if !bytes.Contains(GenMessage(1, 0, 200), []byte("\r\n..two")) || bytes.Contains(GenMessage(1, 1, 200), []byte("\r\n.")) {
		t.Error("dot lines: want them in even messages only")
	}
}
