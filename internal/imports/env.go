package imports

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"ecode/internal/secrets"
)

// MovedSecret is an environment variable taken out of the files into the
// project's secrets.
type MovedSecret struct {
	Name string `json:"name"`
	From string `json:"from"` // the file it was in
}

// isDotenv: .env, .env.local, .env.development… but not the examples.
func isDotenv(name string) bool {
	if name != ".env" && !strings.HasPrefix(name, ".env.") {
		return false
	}
	for _, ex := range []string{"example", "sample", "template", "dist", "defaults"} {
		if strings.HasSuffix(name, "."+ex) {
			return false
		}
	}
	return true
}

// supabaseLiteral finds hard-coded Supabase settings in a client module:
// const SUPABASE_URL = "https://…"; const SUPABASE_PUBLISHABLE_KEY = "eyJ…".
var supabaseLiteral = regexp.MustCompile(`(?m)\b(const|let|var)\s+(SUPABASE_URL|SUPABASE_(?:PUBLISHABLE|ANON)_KEY|supabaseUrl|supabaseAnonKey|supabaseKey)(\s*(?::\s*string)?\s*=\s*)["'\x60]([^"'\x60\n]+)["'\x60]`)

// envNameFor maps a literal's identifier to the variable the app reads.
func envNameFor(ident, prefix string) string {
	switch ident {
	case "supabaseUrl":
		ident = "SUPABASE_URL"
	case "supabaseAnonKey", "supabaseKey":
		ident = "SUPABASE_ANON_KEY"
	}
	return prefix + ident
}

// moveSecrets takes .env files out of dir (into the returned values) and
// rewrites Supabase settings hard-coded in source files to read them from
// the environment. framework picks the variables' prefix and how the code
// reads them.
func moveSecrets(dir, appRoot, framework string) (map[string]string, []MovedSecret, error) {
	vals := map[string]string{}
	var moved []MovedSecret
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if _, skip := skipped(rel); skip && rel != "." {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case isDotenv(d.Name()):
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			pairs, err := secrets.ParseDotenv(string(b))
			if err != nil {
				return userErr("%s cannot be read as a .env file: %v", rel, err)
			}
			for _, kv := range pairs {
				if kv.Value != "" {
					vals[kv.Name] = kv.Value
					moved = append(moved, MovedSecret{Name: kv.Name, From: rel})
				}
			}
			return os.Remove(p)
		case isSource(d.Name()):
			m, err := rewriteLiterals(p, rel, framework, vals)
			moved = append(moved, m...)
			return err
		}
		return nil
	})
	sort.Slice(moved, func(i, j int) bool { return moved[i].Name+moved[i].From < moved[j].Name+moved[j].From })
	return vals, moved, err
}

func isSource(name string) bool {
	for _, ext := range []string{".ts", ".tsx", ".js", ".jsx", ".mjs"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func rewriteLiterals(p, rel, framework string, vals map[string]string) ([]MovedSecret, error) {
	info, err := os.Stat(p)
	if err != nil || info.Size() > 256<<10 {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil || !strings.Contains(string(b), "supabase") {
		return nil, err
	}
	prefix, read := "VITE_", "import.meta.env."
	if framework == "nextjs" {
		prefix, read = "NEXT_PUBLIC_", "process.env."
	}
	var moved []MovedSecret
	out := supabaseLiteral.ReplaceAllStringFunc(string(b), func(m string) string {
		g := supabaseLiteral.FindStringSubmatch(m)
		name := envNameFor(g[2], prefix)
		vals[name] = g[4]
		moved = append(moved, MovedSecret{Name: name, From: rel})
		return g[1] + " " + g[2] + g[3] + read + name
	})
	if len(moved) == 0 {
		return nil, nil
	}
	return moved, os.WriteFile(p, []byte(out), info.Mode().Perm())
}
