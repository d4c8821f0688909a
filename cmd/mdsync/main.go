// Command mdsync keeps Maildir trees and IMAP accounts in two-way sync and
// fetches POP3 mailboxes one way. See README.md.
package main

import (
	"os"

	"github.com/mdsync/mdsync/internal/app"
)

func main() {
	os.Exit(app.Main(os.Args, os.Stdout, os.Stderr))
}
