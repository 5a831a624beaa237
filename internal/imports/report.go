package imports

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Report says what an import carried and, plainly, what it did not.
type Report struct {
	Source     string        `json:"source"`
	Files      int           `json:"files"`
	Bytes      int64         `json:"bytes"`
	Detection  *Detection    `json:"detection,omitempty"`
	Secrets    []MovedSecret `json:"secrets,omitempty"`     // moved out of the files into project secrets
	Carried    []string      `json:"carried,omitempty"`     // other things brought along, in words
	NotCarried []string      `json:"not_carried,omitempty"` // what could not be, and why
}

func (r *Report) notCarried(format string, args ...any) {
	r.NotCarried = append(r.NotCarried, fmt.Sprintf(format, args...))
}

var authProvider = regexp.MustCompile(`^\[auth\.external\.([A-Za-z0-9_-]+)\]`)

// lfsPointer is the first line of a Git LFS pointer file.
const lfsPointer = "version https://git-lfs.github.com/spec/v1"

// scanLeftovers notes what the project refers to but E-Code cannot carry:
// Supabase edge functions and auth providers, submodules, LFS objects.
func scanLeftovers(dir string, r *Report) error {
	funcs := map[string]bool{}
	var lfs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return nil
		}
		parts := strings.Split(rel, "/")
		for i := 0; i+2 < len(parts); i++ {
			if parts[i] == "supabase" && parts[i+1] == "functions" && !strings.HasPrefix(parts[i+2], "_") {
				funcs[parts[i+2]] = true
			}
		}
		switch d.Name() {
		case "config.toml":
			if len(parts) >= 2 && parts[len(parts)-2] == "supabase" {
				for _, prov := range authProviders(p) {
					r.notCarried("Supabase auth provider %q (%s): configure it in your Supabase project; E-Code does not run Supabase auth", prov, rel)
				}
			}
		case ".gitmodules":
			r.notCarried("Git submodules (%s): their contents are not imported; add them as files", rel)
		}
		if isLFSPointer(p, d) {
			lfs = append(lfs, rel)
		}
		return nil
	})
	if len(funcs) > 0 {
		names := make([]string, 0, len(funcs))
		for n := range funcs {
			names = append(names, n)
		}
		sort.Strings(names)
		r.notCarried("Supabase edge functions (%s): their code is imported but E-Code does not deploy or run them; deploy them with the Supabase CLI", strings.Join(names, ", "))
	}
	if len(lfs) > 0 {
		more := ""
		if len(lfs) > 5 {
			more, lfs = fmt.Sprintf(" and %d more", len(lfs)-5), lfs[:5]
		}
		r.notCarried("Git LFS objects (%s%s): only their pointer files were imported; upload the real files", strings.Join(lfs, ", "), more)
	}
	return err
}

func authProviders(p string) []string {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	enabled := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := authProvider.FindStringSubmatch(line); m != nil {
			enabled = m[1]
			continue
		}
		if strings.HasPrefix(line, "[") {
			enabled = ""
		}
		if enabled != "" && strings.ReplaceAll(line, " ", "") == "enabled=true" {
			out = append(out, enabled)
		}
	}
	return out
}

func isLFSPointer(p string, d fs.DirEntry) bool {
	info, err := d.Info()
	if err != nil || info.Size() > 1024 || info.Size() < int64(len(lfsPointer)) {
		return false
	}
	b, err := os.ReadFile(p)
	return err == nil && strings.HasPrefix(string(b), lfsPointer)
}
