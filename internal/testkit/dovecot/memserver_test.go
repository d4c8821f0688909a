package dovecot

import (
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestStartMemServer(t *testing.T) {
	addr, u := StartMemServer(t, "mem", "pw")
	msg := GenMessage(5, 1, 500)
	if err := u.Create("Archive/2023", nil); err != nil {
		t.Fatal(err)
	}

	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("mem", "wrong").Wait(); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := c.Login("mem", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append("INBOX", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
	cmd.Write(msg)
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 { // INBOX, Archive/2023 (no implicit parents)
		t.Errorf("LIST: %d mailboxes", len(list))
		for _, l := range list {
			t.Log(l.Mailbox, l.Attrs)
		}
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 1 {
		t.Fatalf("INBOX has %d messages", sel.NumMessages)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
}
