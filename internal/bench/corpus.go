package bench

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/mdsync/mdsync/internal/testkit/dovecot"
)

// Corpus describes a deterministic set of messages spread over folders.
// Message bodies are generated on demand by Message, so a corpus of a few
// gigabytes costs no memory until it is loaded.
type Corpus struct {
	Seed    int64
	Folders []string
	Msgs    []MsgSpec
}

// MsgSpec is one message of a corpus.
type MsgSpec struct {
	Folder  int    // index into Corpus.Folders
	Index   int    // global message number (unique in the corpus)
	Size    int    // approximate size in bytes
	Attach  bool   // multipart with a base64 attachment
	Flags   string // Maildir letters the server gets: S, R, F
	GenSeed int64
}

// CorpusParams configures NewCorpus.
type CorpusParams struct {
	Seed      int64
	Folders   []string
	Weights   []float64 // relative share of messages per folder
	N         int       // number of messages
	MedianKB  float64   // median size of plain messages
	AttachPct float64   // share of messages with an attachment
	AttachMin int       // attachment message sizes, log-uniform
	AttachMax int
	Huge      int // if > 0, one extra message of this size in INBOX
	FixedSize int // if > 0, every message has this size (no attachments)
}

// FullFolders are the 30 folders of the full corpus, parents before their
// children; non-ASCII names exercise mUTF-7 on the server.
var FullFolders = []string{
	"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive",
	"Archive/2019", "Archive/2020", "Archive/2021", "Archive/2022", "Archive/2023", "Archive/2024",
	"Entwürfe", "Gesendete Objekte", "Projekte", "Projekte/Alpha", "Projekte/Beta", "Projekte/Beta/Tests",
	"Lists", "Lists/golang-nuts", "Lists/dovecot", "Lists/debian-devel",
	"Receipts", "Travel", "Family", "Work", "Work/Clients", "Work/Clients/Ärzte", "Notes", "Café",
}

// QuickFolders are the 10 folders of the quick corpus.
var QuickFolders = []string{
	"INBOX", "Sent", "Drafts", "Archive", "Archive/2023", "Entwürfe",
	"Lists", "Lists/golang-nuts", "Gesendete Objekte", "Café",
}

// folderWeights gives INBOX, archives and lists most of the mail.
func folderWeights(folders []string) []float64 {
	w := make([]float64, len(folders))
	for i, f := range folders {
		switch {
		case f == "INBOX":
			w[i] = 8
		case strings.HasPrefix(f, "Archive/"), strings.HasPrefix(f, "Lists/"):
			w[i] = 4
		case f == "Sent" || f == "Gesendete Objekte":
			w[i] = 3
		default:
			w[i] = 1
		}
	}
	return w
}

// NewCorpus builds the message list of a corpus. Every folder gets at
// least one message.
func NewCorpus(p CorpusParams) *Corpus {
	r := rand.New(rand.NewPCG(uint64(p.Seed), 0x6d6473796e63))
	c := &Corpus{Seed: p.Seed, Folders: p.Folders}
	w := p.Weights
	if w == nil {
		w = folderWeights(p.Folders)
	}
	var total float64
	for _, x := range w {
		total += x
	}
	pick := func() int {
		x := r.Float64() * total
		for i, wi := range w {
			if x < wi {
				return i
			}
			x -= wi
		}
		return len(w) - 1
	}
	for i := 0; i < p.N; i++ {
		f := pick()
		if i < len(p.Folders) {
			f = i // every folder non-empty
		}
		m := MsgSpec{Folder: f, Index: i, GenSeed: p.Seed}
		switch {
		case p.FixedSize > 0:
			m.Size = p.FixedSize
		case r.Float64()*100 < p.AttachPct:
			m.Attach = true
			lo, hi := math.Log(float64(p.AttachMin)), math.Log(float64(p.AttachMax))
			m.Size = int(math.Exp(lo + r.Float64()*(hi-lo)))
		default:
			// log-normal around the median, clamped
			s := p.MedianKB * 1024 * math.Exp(r.NormFloat64()*0.6)
			m.Size = int(min(max(s, 700), 80_000))
		}
		x := r.Float64()
		switch {
		case x < 0.70:
			m.Flags = "S"
		case x < 0.80:
			m.Flags = "RS"
		case x < 0.85:
			m.Flags = "FS"
		case x < 0.87:
			m.Flags = "F"
		}
		c.Msgs = append(c.Msgs, m)
	}
	if p.Huge > 0 {
		c.Msgs = append(c.Msgs, MsgSpec{Folder: 0, Index: p.N, Size: p.Huge, Attach: true, GenSeed: p.Seed})
	}
	return c
}

// ByFolder returns the messages of each folder in corpus order.
func (c *Corpus) ByFolder() [][]MsgSpec {
	out := make([][]MsgSpec, len(c.Folders))
	for _, m := range c.Msgs {
		out[m.Folder] = append(out[m.Folder], m)
	}
	return out
}

// Stats summarises the corpus for the report.
func (c *Corpus) Stats() (n int, total int64, median, maxSize int, attach int) {
	sizes := make([]int, 0, len(c.Msgs))
	for _, m := range c.Msgs {
		sizes = append(sizes, m.Size)
		total += int64(m.Size)
		if m.Attach {
			attach++
		}
	}
	sort.Ints(sizes)
	if len(sizes) > 0 {
		median, maxSize = sizes[len(sizes)/2], sizes[len(sizes)-1]
	}
	return len(c.Msgs), total, median, maxSize, attach
}

// Describe returns a one-paragraph description of the corpus.
func (c *Corpus) Describe() string {
	n, total, median, maxSize, attach := c.Stats()
	return fmt.Sprintf("%d messages, %s, %d folders (nested and non-ASCII: %s), median %s, %d with base64 attachments, largest %s; seed %d",
		n, human(total), len(c.Folders), nonASCIIExamples(c.Folders), human(int64(median)), attach, human(int64(maxSize)), c.Seed)
}

func nonASCIIExamples(fs []string) string {
	var ex []string
	for _, f := range fs {
		if strings.Contains(f, "/") && len(ex) < 2 || strings.ContainsFunc(f, func(r rune) bool { return r > 127 }) {
			ex = append(ex, f)
		}
	}
	return strings.Join(ex, ", ")
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Message returns the RFC 5322 bytes of m (CRLF line endings).
func (m MsgSpec) Message() []byte {
	if !m.Attach {
		return dovecot.GenMessage(m.GenSeed, m.Index, m.Size)
	}
	return attachMessage(m.GenSeed, m.Index, m.Size)
}

// attachMessage is a multipart/mixed message with a short text part and a
// base64 attachment of pseudo-random bytes, about size bytes in total.
func attachMessage(seed int64, i, size int) []byte {
	r := rand.New(rand.NewPCG(uint64(seed)^0xa77ac4, uint64(i)))
	var b strings.Builder
	b.Grow(size + 1024)
	line := func(s string) { b.WriteString(s); b.WriteString("\r\n") }
	date := time.Date(2023, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	boundary := fmt.Sprintf("=_mdsync_%d_%d", seed, i)
	line(fmt.Sprintf("From: Sender %d <sender%d@example.org>", seed, seed))
	line(fmt.Sprintf("To: Recipient <rcpt%d@example.net>", seed))
	line(fmt.Sprintf("Subject: Attachment %d (seed %d)", i, seed))
	line("Date: " + date.Format(time.RFC1123Z))
	line(fmt.Sprintf("Message-ID: <%d.%d.attach.mdsync@test.example>", seed, i))
	line("MIME-Version: 1.0")
	line(fmt.Sprintf("Content-Type: multipart/mixed; boundary=\"%s\"", boundary))
	line("")
	line("--" + boundary)
	line("Content-Type: text/plain; charset=us-ascii")
	line("")
	line(fmt.Sprintf("Please find attached file %d.", i))
	line("")
	line("--" + boundary)
	line(fmt.Sprintf("Content-Type: application/octet-stream; name=\"file%d.bin\"", i))
	line("Content-Transfer-Encoding: base64")
	line(fmt.Sprintf("Content-Disposition: attachment; filename=\"file%d.bin\"", i))
	line("")
	// 57 raw bytes make one 76-character base64 line.
	raw := make([]byte, 57)
	enc := make([]byte, 76)
	tail := len(boundary) + 8
	for b.Len()+78+tail < size {
		for k := 0; k < 57; k += 8 {
			v := r.Uint64()
			for j := 0; j < 8 && k+j < 57; j++ {
				raw[k+j] = byte(v >> (8 * j))
			}
		}
		base64.StdEncoding.Encode(enc, raw)
		b.Write(enc)
		b.WriteString("\r\n")
	}
	line("--" + boundary + "--")
	return []byte(b.String())
}
