package dovecot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// ServerMsg describes one message on the server, as returned by Snapshot.
type ServerMsg struct {
	// UID is the message's IMAP UID.
	UID imap.UID
	// Flags are the message's flags and keywords, sorted, without the
	// session-dependent \Recent.
	Flags []string
	// Size is the RFC822.SIZE reported by the server (CRLF line endings).
	Size int64
	// SHA256 is the hex SHA-256 of the full message with every CRLF
	// replaced by LF, i.e. as it is normally stored in a Maildir file.
	SHA256 string
}

// BodySHA256 returns the hash used in ServerMsg.SHA256 for msg: the hex
// SHA-256 of msg with CRLF normalised to LF.
func BodySHA256(msg []byte) string {
	sum := sha256.Sum256(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

// Snapshot returns every selectable folder of user with all its messages,
// sorted by UID. Folders are examined read-only, so nothing changes.
func (d *Server) Snapshot(t testing.TB, user string) map[string][]ServerMsg {
	t.Helper()
	snap := map[string][]ServerMsg{}
	d.session(t, user, "snapshot", func(c *imapclient.Client) error {
		names, err := listFolders(c)
		if err != nil {
			return err
		}
		for _, name := range names {
			msgs, err := snapshotFolder(c, name)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			snap[name] = msgs
		}
		return nil
	})
	return snap
}

// SnapshotFolder is Snapshot for a single folder.
func (d *Server) SnapshotFolder(t testing.TB, user, folder string) []ServerMsg {
	t.Helper()
	var msgs []ServerMsg
	d.session(t, user, "snapshot "+folder, func(c *imapclient.Client) error {
		var err error
		msgs, err = snapshotFolder(c, folder)
		return err
	})
	return msgs
}

func snapshotFolder(c *imapclient.Client, folder string) ([]ServerMsg, error) {
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, err
	}
	msgs := []ServerMsg{}
	if sel.NumMessages == 0 {
		return msgs, nil
	}
	fc := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, Flags: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	})
	defer fc.Close()
	for m := fc.Next(); m != nil; m = fc.Next() {
		var sm ServerMsg
		for item := m.Next(); item != nil; item = m.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				sm.UID = it.UID
			case imapclient.FetchItemDataFlags:
				sm.Flags = []string{}
				for _, f := range it.Flags {
					if f != "\\Recent" {
						sm.Flags = append(sm.Flags, string(f))
					}
				}
				sort.Strings(sm.Flags)
			case imapclient.FetchItemDataRFC822Size:
				sm.Size = it.Size
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					break
				}
				body, err := io.ReadAll(it.Literal)
				if err != nil {
					return nil, err
				}
				sm.SHA256 = BodySHA256(body)
			}
		}
		if sm.UID == 0 {
			return nil, errors.New("FETCH response without UID")
		}
		msgs = append(msgs, sm)
	}
	if err := fc.Close(); err != nil {
		return nil, err
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
	return msgs, nil
}
