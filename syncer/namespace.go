package syncer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mdsync/mdsync/internal/imapconn"
)

// namespace maps the channel's folder names (what the state, the Maildir and
// the folders patterns see) to the server's mailbox names and back. On a
// server whose personal namespace has a prefix (Courier: "INBOX." with '.'),
// a local folder "Projekte" is the server's "INBOX.Projekte"; INBOX stays
// INBOX. With no prefix (Dovecot, Cyrus, Gmail) the names are the same.
type namespace struct {
	prefix string
}

// toServer is the server's name of a channel folder.
func (n namespace) toServer(name string) string {
	if n.prefix == "" || strings.EqualFold(name, "INBOX") {
		return name
	}
	return n.prefix + name
}

// fromServer is the channel's name of a server mailbox; false for one
// outside the personal namespace.
func (n namespace) fromServer(name string) (string, bool) {
	if n.prefix == "" || strings.EqualFold(name, "INBOX") {
		return name, true
	}
	if len(name) > len(n.prefix) && strings.EqualFold(name[:len(n.prefix)], n.prefix) {
		return name[len(n.prefix):], true
	}
	return "", false
}

// askNamespace sends NAMESPACE, when the server has it and no prefix is
// configured, without waiting: its answer comes with the LIST's.
func askNamespace(c *imapconn.Conn, configured *string) *imapclient.NamespaceCommand {
	if configured != nil || (!c.Caps.Has(imap.CapNamespace) && !c.Caps.Has(imap.CapIMAP4rev2)) {
		return nil
	}
	return c.Namespace()
}

// personalNamespace returns the prefix to use: the configured one, else
// the personal namespace's (the NAMESPACE answer), else none.
func personalNamespace(cmd *imapclient.NamespaceCommand, configured *string) (namespace, error) {
	if configured != nil {
		return namespace{prefix: *configured}, nil
	}
	if cmd == nil {
		return namespace{}, nil
	}
	nd, err := cmd.Wait()
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) {
			return namespace{}, nil // refused: no prefix
		}
		return namespace{}, fmt.Errorf("namespace: %w", err)
	}
	if nd == nil || len(nd.Personal) == 0 {
		return namespace{}, nil
	}
	return namespace{prefix: nd.Personal[0].Prefix}, nil
}

// channelFolders renames listed folders to the channel's names and leaves
// out those outside the personal namespace (other users', shared ones).
func (n namespace) channelFolders(fs []remoteFolder) []remoteFolder {
	if n.prefix == "" {
		return fs
	}
	out := fs[:0]
	for _, f := range fs {
		if name, ok := n.fromServer(f.Name); ok {
			f.Name = name
			out = append(out, f)
		}
	}
	return out
}
