package imports

import (
	"encoding/json"
	"io/fs"
	"os/exec"
	"path"
	"sort"
	"strings"

	"ecode/internal/runconfig"
)

// Detection is what the importer learned about a project's files.
type Detection struct {
	AppRoot        string           `json:"app_root"`        // "." or the subfolder holding the app
	Framework      string           `json:"framework"`       // vite, nextjs, cra, remix, astro, node, flask, fastapi, django, go, static
	PackageManager string           `json:"package_manager"` // npm, pnpm, yarn, bun ("" outside Node)
	Run            runconfig.Config `json:"run_config"`
	Signals        []string         `json:"signals,omitempty"` // why the source looks like Bolt or Lovable
	Notes          []string         `json:"notes,omitempty"`   // choices the user may want to revisit

	rootInstall bool // a workspace: dependencies are installed at the top
}

type pkgJSON struct {
	Scripts         map[string]string `json:"scripts"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Main            string            `json:"main"`
	Workspaces      json.RawMessage   `json:"workspaces"`
}

func (p pkgJSON) has(dep string) bool {
	_, a := p.Dependencies[dep]
	_, b := p.DevDependencies[dep]
	return a || b
}

func readPkg(fsys fs.FS, dir string) (pkgJSON, bool) {
	var p pkgJSON
	b, err := fs.ReadFile(fsys, path.Join(dir, "package.json"))
	if err != nil || json.Unmarshal(b, &p) != nil {
		return p, false
	}
	return p, true
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}

func readText(fsys fs.FS, name string) string {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return ""
	}
	return string(b)
}

// Detect finds the app in the files and the way to run it. A project
// whose root is not an app but holds one in a subfolder (a monorepo, a
// Bolt zip's project/) gets commands that change into it.
func Detect(fsys fs.FS) (Detection, error) {
	root := findAppRoot(fsys)
	if root == "" {
		return Detection{}, userErr("no app found: the files have no package.json, Python app, go.mod or index.html (looked at the top and three folders down)")
	}
	d := Detection{AppRoot: root}
	sub, err := fs.Sub(fsys, root)
	if err != nil {
		return d, err
	}
	switch {
	case exists(sub, "package.json"):
		detectNode(fsys, sub, &d)
	case exists(sub, "manage.py") || pyApp(sub) != "":
		detectPython(sub, &d)
	case exists(sub, "go.mod"):
		d.Framework, d.Run = "go", runconfig.Config{Run: "go run ."}
	default:
		d.Framework, d.Run = "static", runconfig.Config{Run: "python3 -m http.server $PORT --bind 127.0.0.1"}
	}
	d.Run.Port = runconfig.DefaultPort
	if root != "." {
		d.Run.Run = "cd " + root + " && " + d.Run.Run
		if d.Run.Install != "" && !d.rootInstall {
			d.Run.Install = "cd " + root + " && " + d.Run.Install
		}
	}
	d.Signals = signals(fsys, root)
	return d, d.Run.Validate()
}

// appScore rates a folder as the app's home: 0 is none.
func appScore(fsys fs.FS, dir string) int {
	if p, ok := readPkg(fsys, dir); ok {
		for _, fw := range []string{"next", "vite", "react-scripts", "@remix-run/dev", "astro"} {
			if p.has(fw) {
				return 3
			}
		}
		if p.Scripts["dev"] != "" || p.Scripts["start"] != "" {
			return 2
		}
		return 1
	}
	if exists(fsys, path.Join(dir, "manage.py")) || pyApp(subOrSelf(fsys, dir)) != "" || exists(fsys, path.Join(dir, "go.mod")) {
		return 2
	}
	if exists(fsys, path.Join(dir, "index.html")) {
		return 1
	}
	return 0
}

func subOrSelf(fsys fs.FS, dir string) fs.FS {
	if dir == "." {
		return fsys
	}
	s, err := fs.Sub(fsys, dir)
	if err != nil {
		return fsys
	}
	return s
}

// findAppRoot is "." when the top is an app, else the best-scoring folder
// up to three levels down (web-ish names first among equals).
func findAppRoot(fsys fs.FS) string {
	top := appScore(fsys, ".")
	if top >= 2 {
		return "."
	}
	var cands []string
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == "." {
			return nil
		}
		if _, skip := skipped(p); skip || strings.Count(p, "/") >= 3 || strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		if appScore(fsys, p) > 0 {
			cands = append(cands, p)
		}
		return nil
	})
	sort.SliceStable(cands, func(i, j int) bool {
		si, sj := appScore(fsys, cands[i])+webName(cands[i]), appScore(fsys, cands[j])+webName(cands[j])
		if si != sj {
			return si > sj
		}
		return strings.Count(cands[i], "/") < strings.Count(cands[j], "/")
	})
	if len(cands) > 0 && appScore(fsys, cands[0]) > top {
		return cands[0]
	}
	if top > 0 {
		return "."
	}
	return ""
}

func webName(p string) int {
	switch path.Base(p) {
	case "web", "app", "frontend", "client", "site", "www", "project":
		return 1
	}
	return 0
}

// packageManager picks the lockfile's manager; npm when its tool is not
// installed here (noted).
func packageManager(fsys fs.FS, dirs []string, d *Detection) string {
	for _, dir := range dirs {
		switch {
		case exists(fsys, path.Join(dir, "package-lock.json")):
			return "npm" // Lovable ships bun.lockb beside it: npm's lock is the one kept current
		case exists(fsys, path.Join(dir, "pnpm-lock.yaml")):
			return toolOrNPM("pnpm", d)
		case exists(fsys, path.Join(dir, "yarn.lock")):
			return toolOrNPM("yarn", d)
		case exists(fsys, path.Join(dir, "bun.lockb")), exists(fsys, path.Join(dir, "bun.lock")):
			return toolOrNPM("bun", d)
		}
	}
	return "npm"
}

func toolOrNPM(tool string, d *Detection) string {
	if _, err := exec.LookPath(tool); err == nil {
		return tool
	}
	d.Notes = append(d.Notes, tool+" lockfile found but "+tool+" is not installed on this server: dependencies are installed with npm")
	return "npm"
}

func detectNode(top, sub fs.FS, d *Detection) {
	p, _ := readPkg(sub, ".")
	dirs := []string{"."}
	workspaceRoot := false
	if d.AppRoot != "." {
		dirs = []string{d.AppRoot, "."}
		if rp, ok := readPkg(top, "."); ok && len(rp.Workspaces) > 0 {
			workspaceRoot = true
		} else if exists(top, "pnpm-workspace.yaml") {
			workspaceRoot = true
		}
	}
	pm := packageManager(top, dirs, d)
	d.PackageManager = pm
	d.rootInstall = workspaceRoot
	h := "127.0.0.1"
	switch {
	case p.has("next"):
		d.Framework, d.Run.Run = "nextjs", "npx next dev -H "+h+" -p $PORT"
	case p.has("@remix-run/dev") && p.has("vite"):
		d.Framework, d.Run.Run = "remix", "npx remix vite:dev --host "+h+" --port $PORT --strictPort"
	case p.has("@remix-run/dev"):
		d.Framework, d.Run.Run = "remix", pm+" run dev"
	case p.has("astro"):
		d.Framework, d.Run.Run = "astro", "npx astro dev --host "+h+" --port $PORT"
	case p.has("vite"):
		d.Framework, d.Run.Run = "vite", "npx vite --host "+h+" --port $PORT --strictPort"
	case p.has("react-scripts"):
		d.Framework, d.Run.Run = "cra", "BROWSER=none HOST="+h+" npx react-scripts start"
	case p.Scripts["dev"] != "":
		d.Framework, d.Run.Run = "node", pm+" run dev"
	case p.Scripts["start"] != "":
		d.Framework, d.Run.Run = "node", pm+" start"
	case p.Main != "":
		d.Framework, d.Run.Run = "node", "node "+p.Main
	default:
		d.Framework, d.Run.Run = "node", "node index.js"
	}
	if len(p.Dependencies)+len(p.DevDependencies) > 0 || workspaceRoot {
		d.Run.Install = pm + " install"
	}
}

// pyApp names the Python module holding a Flask or FastAPI app, or "".
func pyApp(fsys fs.FS) string {
	for _, f := range []string{"app.py", "main.py", "server.py", "wsgi.py"} {
		t := readText(fsys, f)
		if strings.Contains(t, "Flask(") || strings.Contains(t, "FastAPI(") {
			return strings.TrimSuffix(f, ".py")
		}
	}
	for _, f := range []string{"main.py", "app.py"} {
		if exists(fsys, f) {
			return strings.TrimSuffix(f, ".py")
		}
	}
	return ""
}

func detectPython(fsys fs.FS, d *Detection) {
	if exists(fsys, "requirements.txt") {
		d.Run.Install = "pip install -r requirements.txt"
	} else if exists(fsys, "pyproject.toml") {
		d.Run.Install = "pip install ."
	}
	mod := pyApp(fsys)
	src := readText(fsys, mod+".py")
	switch {
	case exists(fsys, "manage.py"):
		d.Framework, d.Run.Run = "django", "python3 manage.py runserver 127.0.0.1:$PORT"
	case strings.Contains(src, "FastAPI("):
		d.Framework, d.Run.Run = "fastapi", "python3 -m uvicorn "+mod+":app --host 127.0.0.1 --port $PORT"
	case strings.Contains(src, "Flask("):
		d.Framework, d.Run.Run = "flask", "python3 -m flask --app "+mod+" run --host 127.0.0.1 --port $PORT"
	default:
		d.Framework, d.Run.Run = "python", "python3 "+mod+".py"
	}
}

// signals are the marks of Bolt and Lovable projects.
func signals(fsys fs.FS, root string) []string {
	var out []string
	at := func(n string) string { return path.Join(root, n) }
	if exists(fsys, ".bolt") || exists(fsys, at(".bolt")) {
		out = append(out, "bolt: .bolt folder")
	}
	vc := readText(fsys, at("vite.config.ts")) + readText(fsys, at("vite.config.js"))
	if strings.Contains(vc, "lovable-tagger") || strings.Contains(vc, "componentTagger") {
		out = append(out, "lovable: lovable-tagger in the Vite config")
	}
	if strings.Contains(readText(fsys, "README.md"), "lovable.dev/projects/") {
		out = append(out, "lovable: README links a Lovable project")
	}
	if exists(fsys, at("src/integrations/supabase/client.ts")) {
		out = append(out, "supabase client at src/integrations/supabase/client.ts")
	}
	return out
}
