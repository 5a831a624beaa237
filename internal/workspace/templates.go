package workspace

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

// templateFiles holds the starter projects. A file named "x.tmpl" is written
// as "x" (so that the Go template's go.mod and main.go are not part of this
// module).
//
//go:embed all:templates
var templateFiles embed.FS

// Template is a starter project.
type Template struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Templates lists the starter projects.
func Templates() []Template {
	return []Template{
		{"blank", "Blank", "An empty project with a README."},
		{"static", "Static HTML/CSS/JS", "A web page with a stylesheet and a script, served as static files."},
		{"node", "Node.js", "A Node.js web server with no dependencies."},
		{"python", "Python", "A web server using only the Python standard library."},
		{"go", "Go", "A web server using only the Go standard library."},
	}
}

// TemplateExists reports whether id names a template.
func TemplateExists(id string) bool {
	for _, t := range Templates() {
		if t.ID == id {
			return true
		}
	}
	return false
}

// CopyTemplate writes the template's files into the project.
func (p *Project) CopyTemplate(id string) error {
	if !TemplateExists(id) {
		return ErrNotExist
	}
	base := path.Join("templates", id)
	return fs.WalkDir(templateFiles, base, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFiles.ReadFile(name)
		if err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(name, base+"/"), ".tmpl")
		_, err = p.WriteFile(rel, strings.NewReader(string(b)), int64(len(b)))
		return err
	})
}
