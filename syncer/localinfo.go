package syncer

import (
	"io"
	"os"
	"time"

	"github.com/mdsync/mdsync/internal/msgio"
)

// localFile is what a pass over a local file tells: its size once uploaded
// (with CRLF line endings), its fingerprint, Message-ID and date, and its
// identity for content matching (see msgio.HeadKey).
type localFile struct {
	CRLFSize    int64
	Fingerprint string
	MessageID   string
	Date        time.Time
	HeadKey     string // "" when the header could not be read whole
	BodyHash    string
	BodySize    int64 // with CRLF line endings
}

// readLocalFile reads a Maildir file once.
func readLocalFile(path string) (localFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return localFile{}, err
	}
	defer f.Close()
	lw := msgio.NewLFWriter(io.Discard)
	lw.MeasureBody()
	cr := &msgio.CRLFCounter{}
	if _, err := io.Copy(io.MultiWriter(lw, cr), f); err != nil {
		return localFile{}, err
	}
	lw.Flush()
	info := localFile{CRLFSize: cr.Size(), Fingerprint: lw.Fingerprint(), MessageID: lw.Header().MessageID(), Date: lw.Header().Date(), HeadKey: lw.Header().HeadKey()}
	info.BodyHash, info.BodySize = lw.BodySum()
	if info.Date.IsZero() {
		if fi, err := f.Stat(); err == nil {
			info.Date = fi.ModTime()
		}
	}
	return info, nil
}
