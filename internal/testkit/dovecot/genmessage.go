package dovecot

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

var genWords = strings.Fields(`alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima
mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu mail sync
folder message server client offline archive draft budget meeting report invoice travel weekend`)

// GenMessage returns a deterministic RFC 5322 message for (seed, i): From,
// To, Subject (containing i), Date (derived from seed, one minute apart per
// i), a Message-ID unique per (seed, i), MIME headers, CRLF line endings, and
// a plain-text body of readable lines of at most 76 characters, filled so
// that the whole message is about size bytes (never less than the headers).
// Messages with an even i contain body lines starting with "." and ".." to
// exercise POP3 dot-stuffing.
func GenMessage(seed int64, i int, size int) []byte {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
	date := time.Date(2023, 1, 1, 9, 0, 0, 0, time.UTC).
		Add(time.Duration(uint64(seed)%(3*365*24)) * time.Hour).
		Add(time.Duration(i) * time.Minute)
	var b strings.Builder
	b.Grow(size + 512)
	line := func(s string) { b.WriteString(s); b.WriteString("\r\n") }
	line(fmt.Sprintf("From: Sender %d <sender%d@example.org>", seed, seed))
	line(fmt.Sprintf("To: Recipient <rcpt%d@example.net>", seed))
	line(fmt.Sprintf("Subject: Test message %d (seed %d) %s %s", i, seed,
		genWords[r.IntN(len(genWords))], genWords[r.IntN(len(genWords))]))
	line("Date: " + date.Format(time.RFC1123Z))
	line(fmt.Sprintf("Message-ID: <%d.%d.mdsync@test.example>", seed, i))
	line("MIME-Version: 1.0")
	line("Content-Type: text/plain; charset=us-ascii")
	line("Content-Transfer-Encoding: 7bit")
	line("")
	line(fmt.Sprintf("Message %d of seed %d.", i, seed))
	if i%2 == 0 {
		line(".leading dot line")
		line("..two leading dots")
	}
	const maxLine = 76
	for b.Len()+2 < size {
		room := min(maxLine, size-b.Len()-2)
		var l strings.Builder
		for {
			w := genWords[r.IntN(len(genWords))]
			if l.Len() > 0 && l.Len()+1+len(w) > room || l.Len() == 0 && len(w) > room {
				break
			}
			if l.Len() > 0 {
				l.WriteByte(' ')
			}
			l.WriteString(w)
		}
		if l.Len() == 0 {
			l.WriteString(strings.Repeat("x", max(room, 1)))
		}
		line(l.String())
	}
	return []byte(b.String())
}
