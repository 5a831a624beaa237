package workspace

import (
	"bytes"
	"context"
	"io/fs"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// SearchLimits bound one project search.
type SearchLimits struct {
	MaxResults   int   // matching lines returned
	MaxFileBytes int64 // larger files are skipped
}

// SearchMatch is one line that contains the query.
type SearchMatch struct {
	Path   string `json:"path"`
	Line   int    `json:"line"`   // 1-based
	Column int    `json:"column"` // 1-based, in characters
	Text   string `json:"text"`   // the line, cut to 300 bytes
}

// SearchResult is what Search found.
type SearchResult struct {
	Matches   []SearchMatch `json:"matches"`
	Truncated bool          `json:"truncated"` // more matches exist than MaxResults
	Files     int           `json:"files"`     // files read (all of them unless truncated)
}

// Search finds the lines of the project's text files that contain query
// (case-insensitive when query is all lower case). It reads through the
// project's root (nothing outside the project), and skips heavy folders
// (node_modules, .git, ...), the .ecode folder, binary files and files
// larger than MaxFileBytes.
func (p *Project) Search(ctx context.Context, query string, lim SearchLimits) (SearchResult, error) {
	fold := strings.ToLower(query) == query
	needle := []byte(query)
	fsys := p.root.FS()
	var names []string
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished while walking
		}
		if d.IsDir() {
			if name != "." && (heavyDirs[d.Name()] || name == ".ecode" || isTemp(d.Name())) {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && !isTemp(d.Name()) {
			names = append(names, name)
		}
		return ctx.Err()
	})
	if err != nil {
		return SearchResult{Matches: []SearchMatch{}}, mapErr(err)
	}

	// Read and search files on a few goroutines; results are merged in walk order.
	found := make([][]SearchMatch, len(names))
	searched := make([]bool, len(names))
	var next, total atomic.Int64
	var wg sync.WaitGroup
	for range min(4, runtime.GOMAXPROCS(0)+1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) || ctx.Err() != nil || total.Load() > int64(lim.MaxResults) {
					return
				}
				info, err := fs.Stat(fsys, names[i])
				if err != nil || info.Size() > lim.MaxFileBytes {
					continue
				}
				data, err := fs.ReadFile(fsys, names[i])
				if err != nil {
					continue
				}
				searched[i] = true
				found[i] = searchFile(data, names[i], needle, fold, lim.MaxResults+1)
				total.Add(int64(len(found[i])))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return SearchResult{Matches: []SearchMatch{}}, err
	}
	res := SearchResult{Matches: []SearchMatch{}}
	for i, ms := range found {
		if searched[i] {
			res.Files++
		}
		for _, m := range ms {
			if len(res.Matches) == lim.MaxResults {
				res.Truncated = true
				return res, nil
			}
			res.Matches = append(res.Matches, m)
		}
	}
	return res, nil
}

// searchFile returns up to max matching lines of data. A NUL byte in the
// first 8 KiB marks a binary file, which has none.
func searchFile(data []byte, name string, needle []byte, fold bool, max int) []SearchMatch {
	if bytes.IndexByte(data[:min(len(data), 8<<10)], 0) >= 0 {
		return nil
	}
	var out []SearchMatch
	for n := 1; len(data) > 0 && len(out) < max; n++ {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		hay := line
		if fold {
			hay = bytes.ToLower(line)
		}
		i := bytes.Index(hay, needle)
		if i < 0 {
			continue
		}
		if len(hay) != len(line) {
			i = 0 // lowering changed byte offsets
		}
		text := bytes.TrimRight(line, "\r")
		if len(text) > 300 {
			text = text[:300]
		}
		out = append(out, SearchMatch{Path: name, Line: n, Column: utf8.RuneCount(line[:i]) + 1,
			Text: strings.ToValidUTF8(string(text), "\uFFFD")})
	}
	return out
}
