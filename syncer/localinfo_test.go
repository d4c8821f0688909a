package syncer

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/mdsync/mdsync/internal/msgio"
)

// TestLocalAndRemoteIdentityAgree: a file as mbsync stores it (LF, an
// X-TUID field) and the server's copy (CRLF, no X-TUID) get the same header
// key, body hash and body size by the local and the remote code paths.
func TestLocalAndRemoteIdentityAgree(t *testing.T) {
	server := "From: a@example.org\r\nSubject: s\r\nMessage-ID: <9@x>\r\n\r\nbody line\r\n.dot\r\n\r\nlast\r\n"
	local := "From: a@example.org\nSubject: s\nMessage-ID: <9@x>\nX-TUID: 0123456789ab\n\nbody line\n.dot\n\nlast\n"
	path := t.TempDir() + "/m"
	if err := writeFile(path, local); err != nil {
		t.Fatal(err)
	}
	li, err := readLocalFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hdrEnd := bytes.Index([]byte(server), []byte("\r\n\r\n")) + 4
	rm := remoteMeta{HeadKey: msgio.HeadKey([]byte(server[:hdrEnd])), BodySize: int64(len(server) - hdrEnd)}
	lw := msgio.NewLFWriter(io.Discard)
	lw.Write([]byte(server[hdrEnd:]))
	lw.Flush()
	if li.HeadKey != rm.HeadKey || li.BodySize != rm.BodySize || li.BodyHash != lw.Fingerprint() {
		t.Fatalf("local %+v\nremote %+v body %s", li, rm, lw.Fingerprint())
	}
	if li.CRLFSize == int64(len(server)) {
		t.Fatal("the X-TUID field should make the sizes differ")
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
