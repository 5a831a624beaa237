package imports

import (
	"archive/zip"
	"bytes"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func buildZip(t testing.TB, names ...string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("content of " + n))
	}
	zw.Close()
	return b.Bytes()
}

func TestZipRefusals(t *testing.T) {
	for want, names := range map[string][]string{
		"two entries named a.txt":     {"a.txt", "a.txt"},
		"outside the project":         {"x/../../a"},
		"absolute path":               {`C:\windows\x`},
		"not UTF-8":                   {"caf\xe9.txt"},
		"both as a file and a folder": {"a", "a/b"},
	} {
		data := buildZip(t, names...)
		zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		_, err := ExtractZip(zr, t.TempDir(), Limits{}, nil)
		if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), "as a file and as a folder", "as a file and a folder"), want) {
			t.Errorf("%v: %v, want %q", names, err, want)
		}
	}
	data := buildZip(t, "a", "b", "c")
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if _, err := ExtractZip(zr, t.TempDir(), Limits{MaxFiles: 2}, nil); err == nil || !strings.Contains(err.Error(), "more than 2 files") {
		t.Errorf("file count: %v", err)
	}
}

// FuzzExtractZip: any bytes either fail cleanly or extract only inside the folder.
func FuzzExtractZip(f *testing.F) {
	f.Add(buildZip(f, "a.txt", "dir/b.txt"))
	f.Add(buildZip(f, "../x"))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		parent := t.TempDir()
		dir := parent + "/x"
		os.Mkdir(dir, 0o755)
		ExtractZip(zr, dir, Limits{MaxFiles: 50, MaxBytes: 1 << 20}, nil)
		ents, _ := os.ReadDir(parent)
		if len(ents) != 1 {
			t.Fatalf("wrote outside the folder: %v", ents)
		}
	})
}

func TestDetect(t *testing.T) {
	for name, tc := range map[string]struct {
		files               map[string]string
		root, fw, run, inst string
	}{
		"vite lovable": {map[string]string{"package.json": `{"devDependencies":{"vite":"5"}}`, "bun.lockb": "", "package-lock.json": "{}",
			"vite.config.ts": `import { componentTagger } from "lovable-tagger"`}, ".", "vite", "npx vite --host 127.0.0.1 --port $PORT --strictPort", "npm install"},
		"bolt project/": {map[string]string{"project/package.json": `{"dependencies":{"react-scripts":"5"}}`, "project/.bolt/config.json": "{bad"},
			"project", "cra", "cd project && BROWSER=none HOST=127.0.0.1 npx react-scripts start", "cd project && npm install"},
		"astro": {map[string]string{"package.json": `{"dependencies":{"astro":"4"}}`}, ".", "astro", "npx astro dev --host 127.0.0.1 --port $PORT", "npm install"},
		"remix": {map[string]string{"package.json": `{"dependencies":{"@remix-run/dev":"2","vite":"5"}}`}, ".", "remix", "npx remix vite:dev --host 127.0.0.1 --port $PORT --strictPort", "npm install"},
		"flask": {map[string]string{"app.py": "from flask import Flask\napp = Flask(__name__)", "requirements.txt": "flask"}, ".", "flask",
			"python3 -m flask --app app run --host 127.0.0.1 --port $PORT", "pip install -r requirements.txt"},
		"fastapi": {map[string]string{"main.py": "app = FastAPI()"}, ".", "fastapi", "python3 -m uvicorn main:app --host 127.0.0.1 --port $PORT", ""},
		"django":  {map[string]string{"manage.py": "", "requirements.txt": "django"}, ".", "django", "python3 manage.py runserver 127.0.0.1:$PORT", "pip install -r requirements.txt"},
		"go":      {map[string]string{"go.mod": "module x", "main.go": "package main"}, ".", "go", "go run .", ""},
		"node":    {map[string]string{"package.json": `{"main":"srv.js"}`}, ".", "node", "node srv.js", ""},
	} {
		fsys := fstest.MapFS{}
		for n, c := range tc.files {
			fsys[n] = &fstest.MapFile{Data: []byte(c)}
		}
		d, err := Detect(fsys)
		if err != nil || d.AppRoot != tc.root || d.Framework != tc.fw || d.Run.Run != tc.run || d.Run.Install != tc.inst {
			t.Errorf("%s: %+v %v", name, d, err)
		}
	}
}

func TestSupabaseLiteralsMoved(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(dir+"/src/integrations/supabase", 0o755)
	src := "const SUPABASE_URL = \"https://abc.supabase.co\";\nconst SUPABASE_PUBLISHABLE_KEY = \"eyJhbGciOi\";\nexport const supabase = createClient(SUPABASE_URL, SUPABASE_PUBLISHABLE_KEY);\n"
	os.WriteFile(dir+"/src/integrations/supabase/client.ts", []byte(src), 0o644)
	vals, moved, err := moveSecrets(dir, ".", "vite")
	if err != nil || vals["VITE_SUPABASE_URL"] != "https://abc.supabase.co" || vals["VITE_SUPABASE_PUBLISHABLE_KEY"] != "eyJhbGciOi" || len(moved) != 2 {
		t.Fatalf("%v %v %v", vals, moved, err)
	}
	b, _ := os.ReadFile(dir + "/src/integrations/supabase/client.ts")
	if strings.Contains(string(b), "eyJ") || !strings.Contains(string(b), "const SUPABASE_URL = import.meta.env.VITE_SUPABASE_URL") {
		t.Errorf("rewritten:\n%s", b)
	}
}
