package workspace

import (
	"io/fs"
	"path"
	"time"
)

// staleTempAge is how old a temporary file must be to count as left over by
// an interrupted write (one in progress is younger).
const staleTempAge = time.Minute

// removeStaleTemps deletes the temporary files (".ecode-tmp-*") that writes
// interrupted by a crash or a full disk left in the project, older than
// staleTempAge. Dependency folders and .git are not searched. It returns
// how many it removed.
func (p *Project) removeStaleTemps(now time.Time) int {
	var stale []string
	fs.WalkDir(p.root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: skip
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return fs.SkipDir
		}
		if d.Type().IsRegular() && isTemp(path.Base(name)) {
			if info, err := d.Info(); err == nil && now.Sub(info.ModTime()) > staleTempAge {
				stale = append(stale, name)
			}
		}
		return nil
	})
	n := 0
	for _, name := range stale {
		if p.root.Remove(name) == nil {
			n++
		}
	}
	return n
}
