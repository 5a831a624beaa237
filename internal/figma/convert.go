package figma

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
)

// Renderer renders nodes of the file through GET /v1/images: node id →
// image bytes. A node missing from the answer could not be rendered.
type Renderer func(ctx context.Context, ids []string, format string) (map[string][]byte, error)

// Options steer a conversion.
type Options struct {
	FirstPageOnly bool     // convert only the first page's frames (default: every page)
	Render        Renderer // nil: images and vectors are left as placeholders
}

// Result is a converted project.
type Result struct {
	Files      map[string][]byte // path (slash-separated) → content
	Notes      []string          // what could not be carried, in words
	Nodes      int               // layers converted
	Screens    int
	Components int
	Assets     int // images and vectors written
}

// Convert turns a parsed file into a Vite + React + TypeScript project.
func Convert(ctx context.Context, f *File, opt Options) (*Result, error) {
	c := newConverter(f)
	if err := c.build(!opt.FirstPageOnly); err != nil {
		return nil, err
	}
	fetched := map[string]bool{}
	images := map[string][]byte{}
	if len(c.assets) > 0 && opt.Render == nil {
		c.note("%d images and vectors were not fetched (an uploaded file's JSON has no access to Figma's renderer): they are placeholders; import by URL and token to get them", len(c.assets))
	}
	if len(c.assets) > 0 && opt.Render != nil {
		for _, format := range []string{"png", "svg"} {
			var ids []string
			for _, a := range c.assets {
				if a.format == format {
					ids = append(ids, a.id)
				}
			}
			if len(ids) == 0 {
				continue
			}
			got, err := opt.Render(ctx, ids, format)
			if err != nil {
				return nil, err
			}
			missing := 0
			for _, id := range ids {
				if b, ok := got[id]; ok {
					images[id], fetched[id] = b, true
				} else {
					missing++
				}
			}
			if missing > 0 {
				c.note("%d %s renders could not be fetched from Figma: they are placeholders", missing, format)
			}
		}
	}
	if c.dropped > 0 {
		c.notes = append(c.notes, fmt.Sprintf("and %d more notes like these", c.dropped))
	}
	title := f.Name
	if title == "" {
		title = "Figma design"
	}
	files := c.emit(title, fetched)
	for _, a := range c.assets {
		if fetched[a.id] {
			files["src/assets/"+a.file] = images[a.id]
		}
	}
	meta := fmt.Sprintf("{\n  \"name\": %s,\n  \"version\": %s,\n  \"lastModified\": %s,\n  \"screens\": %d,\n  \"components\": %d,\n  \"notes\": %s\n}\n",
		jsString(f.Name), jsString(f.Version), jsString(f.LastModified), len(c.screens), len(c.compOrder), jsonList(c.notes))
	files["figma.meta.json"] = []byte(meta)
	return &Result{Files: files, Notes: c.notes, Nodes: c.nodes, Screens: len(c.screens), Components: len(c.compOrder), Assets: len(fetched)}, nil
}

func jsonList(xs []string) string {
	if len(xs) == 0 {
		return "[]"
	}
	out := "[\n"
	for i, x := range xs {
		out += "    " + jsString(x)
		if i < len(xs)-1 {
			out += ","
		}
		out += "\n"
	}
	return out + "  ]"
}

// WriteDir writes files under dir, in name order.
func WriteDir(dir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		clean := path.Clean("/" + n)[1:]
		if clean == "" || clean != n {
			return fmt.Errorf("figma: refusing to write %q", n)
		}
		p := filepath.Join(dir, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}
