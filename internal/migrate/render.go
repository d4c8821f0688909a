package migrate

import (
	"fmt"
	"github.com/mdsync/mdsync/internal/config"

	"strings"
)

// Render writes c as an mdsync config file. from names the file it was
// imported from (for the comment at the top); stateDir is written when not
// empty. The output is deterministic: sections in the order of c.
func Render(c Config, from, stateDir string) []byte {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# mdsync config, imported from %s by `mdsync import`.", from)
	p("# See the README (Configure) for every setting.")
	if stateDir != "" {
		p("state_dir = %s", quote(stateDir))
	}
	for _, a := range c.IMAP {
		p("")
		p("[imap.%s]", a.Name)
		p("host = %s", quote(a.Host))
		if a.Port != 0 {
			p("port = %d", a.Port)
		}
		if a.TLS != "" {
			p("tls = %s", quote(a.TLS))
		}
		if a.AllowPlaintext {
			p("allow_plaintext = true")
		}
		p("user = %s", quote(a.User))
		switch {
		case a.PasswordCommand != "":
			p("password_command = %s", quote(a.PasswordCommand))
		case a.Password != "":
			p("password = %s", quote(a.Password))
		case a.PasswordEnv != "":
			p("password_env = %s", quote(a.PasswordEnv))
		}
		if a.CAFile != "" {
			p("ca_file = %s", quote(a.CAFile))
		}
	}
	for _, m := range c.Maildir {
		p("")
		p("[maildir.%s]", m.Name)
		p("path = %s", quote(m.Path))
		if m.Layout != "" && m.Layout != "verbatim" {
			p("layout = %s", quote(m.Layout))
		}
		if m.Names != "" && m.Names != "utf8" {
			p("names = %s", quote(m.Names))
		}
	}
	for _, ch := range c.Channel {
		p("")
		p("[channel.%s]", ch.Name)
		p("imap = %s", quote(ch.IMAP))
		p("maildir = %s", quote(ch.Maildir))
		if len(ch.Folders) > 0 {
			q := make([]string, len(ch.Folders))
			for i, f := range ch.Folders {
				q[i] = quote(f)
			}
			p("folders = [%s]", strings.Join(q, ", "))
		}
		for _, kv := range [][2]string{{"create", ch.Create}, {"remove", ch.Remove}, {"expunge", ch.Expunge}} {
			if kv[1] != "" {
				p("%s = %s", kv[0], quote(kv[1]))
			}
		}
	}
	return []byte(b.String())
}

var quote = config.Quote
