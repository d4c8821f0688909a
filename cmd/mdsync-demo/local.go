package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// localMsg is one message file in the demo's Maildir tree.
type localMsg struct {
	Path      string // full path
	Rel       string // relative to the root, e.g. INBOX/cur/123.x:2,S
	MessageID string
}

// Flags are the Maildir flag letters after ":2," ("" when none).
func (m localMsg) Flags() string {
	base := filepath.Base(m.Path)
	if i := strings.LastIndex(base, ":2,"); i >= 0 {
		return base[i+3:]
	}
	return ""
}

// localMessages lists the messages in every cur/ and new/ below root,
// skipping dot directories (the demo's own .mdsync-demo among them).
func localMessages(root string) ([]localMsg, error) {
	var out []localMsg
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if strings.HasPrefix(name, ".") || name == "tmp" {
				return filepath.SkipDir
			}
			return nil
		}
		sub := filepath.Base(filepath.Dir(p))
		if (sub != "cur" && sub != "new") || strings.HasPrefix(name, ".") || !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		id, err := messageID(p)
		if err != nil {
			return err
		}
		out = append(out, localMsg{Path: p, Rel: rel, MessageID: id})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, err
}

func messageID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	m, err := mail.ReadMessage(bufio.NewReader(f))
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return m.Header.Get("Message-Id"), nil
}

func findLocal(msgs []localMsg, id string) (localMsg, bool) {
	for _, m := range msgs {
		if m.MessageID == id {
			return m, true
		}
	}
	return localMsg{}, false
}

// markSeen does what a mail reader does when you open a message: it adds
// the S flag to the file name, moving the file from new/ to cur/.
func markSeen(m localMsg) (string, error) {
	dir, base := filepath.Split(m.Path)
	folder := filepath.Dir(filepath.Clean(dir))
	key, flags := base, ""
	if i := strings.LastIndex(base, ":2,"); i >= 0 {
		key, flags = base[:i], base[i+3:]
	}
	if !strings.Contains(flags, "S") {
		letters := strings.Split(flags+"S", "")
		sort.Strings(letters) // Maildir wants the flag letters in ASCII order
		flags = strings.Join(letters, "")
	}
	to := filepath.Join(folder, "cur", key+":2,"+flags)
	if err := os.Rename(m.Path, to); err != nil {
		return "", err
	}
	return to, nil
}

func decodeHeader(s string) string {
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// countByFolder counts messages per top-level path below the root, e.g.
// "Archive/2024" -> 8.
func countByFolder(msgs []localMsg) map[string]int {
	n := map[string]int{}
	for _, m := range msgs {
		n[filepath.ToSlash(filepath.Dir(filepath.Dir(m.Rel)))]++
	}
	return n
}
