package bench

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// mutateLocal changes a tool's Maildir the way a mail reader would: it
// toggles the F flag of frac of the messages (renaming the files; files in
// new/ move to cur/) and deletes `deletions` messages, at most 10% of any
// folder and only in folders of 50 or more messages. It returns the number
// of flag changes and deletions made.
func mutateLocal(root string, frac float64, deletions int, r *rand.Rand) (int, int, error) {
	type file struct{ dir, sub, name string }
	var files []file
	folderSize := map[string]int{}
	err := walkMaildir(root, func(string) error { return nil }, func(dir, sub string, e os.DirEntry) error {
		files = append(files, file{dir, sub, e.Name()})
		folderSize[dir]++
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	sort.Slice(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if a.dir != b.dir {
			return a.dir < b.dir
		}
		return a.sub+a.name < b.sub+b.name
	})
	perm := r.Perm(len(files))
	k := int(float64(len(files))*frac + 0.5)
	flagged := 0
	for _, i := range perm[:k] {
		f := files[i]
		var newName string
		if j := strings.LastIndex(f.name, ":2,"); j >= 0 {
			letters := []byte(f.name[j+3:])
			if idx := strings.IndexByte(string(letters), 'F'); idx >= 0 {
				letters = append(letters[:idx], letters[idx+1:]...)
			} else {
				letters = append(letters, 'F')
				sort.Slice(letters, func(a, b int) bool { return letters[a] < letters[b] })
			}
			newName = f.name[:j+3] + string(letters)
		} else {
			newName = f.name + ":2,F"
		}
		if err := os.Rename(filepath.Join(f.dir, f.sub, f.name), filepath.Join(f.dir, "cur", newName)); err != nil {
			return flagged, 0, err
		}
		flagged++
	}
	deleted := 0
	perFolder := map[string]int{}
	for _, i := range perm[k:] {
		if deleted >= deletions {
			break
		}
		f := files[i]
		size := folderSize[f.dir]
		if size < 50 || perFolder[f.dir]+1 > size/10 {
			continue
		}
		if err := os.Remove(filepath.Join(f.dir, f.sub, f.name)); err != nil {
			return flagged, deleted, err
		}
		perFolder[f.dir]++
		deleted++
	}
	return flagged, deleted, nil
}
