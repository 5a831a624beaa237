package runconfig

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	c, err := Parse([]byte("run = \"npm start\"\nport = 8080\n[env]\nMODE = \"dev\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Run: "npm start", Port: 8080, Env: map[string]string{"MODE": "dev"}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if got := strings.Join(c.EnvList(), " "); got != "PORT=8080 MODE=dev" {
		t.Errorf("EnvList = %s", got)
	}
	for in, msg := range map[string]string{
		"run = ":                              "",
		"port = 80\nrun = \"x\"":              "between 1024",
		"run = \"x\"\ncolour = 1":             "unknown keys colour",
		"run = \"\"":                          "run must not be empty",
		"run = \"x\"\n[env]\n\"A B\" = \"1\"": "not a valid variable",
	} {
		if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Parse(%q) = %v, want an error with %q", in, err, msg)
		}
	}
}

func TestDetect(t *testing.T) {
	for name, tc := range map[string]struct {
		files fstest.MapFS
		want  Config
	}{
		"node dev": {fstest.MapFS{"package.json": {Data: []byte(`{"scripts":{"dev":"vite","build":"vite build"},"devDependencies":{"vite":"1"}}`)}},
			Config{Run: "npm run dev", Install: "npm install", Port: 3000}},
		"node start": {fstest.MapFS{"package.json": {Data: []byte(`{"scripts":{"start":"node index.js"}}`)}},
			Config{Run: "npm start", Port: 3000}},
		"python app": {fstest.MapFS{"app.py": {}, "requirements.txt": {}},
			Config{Run: "python3 app.py", Install: "pip install -r requirements.txt", Port: 3000}},
		"go":     {fstest.MapFS{"main.go": {}}, Config{Run: "go run .", Port: 3000}},
		"static": {fstest.MapFS{"index.html": {}}, Config{Run: "python3 -m http.server $PORT --bind 127.0.0.1", Port: 3000}},
	} {
		got, detected, err := Load(tc.files)
		if err != nil || !detected {
			t.Errorf("%s: %v, detected=%v", name, err, detected)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got)\n%s", name, diff)
		}
		// What is written back reads back the same.
		again, err := Parse(got.Encode())
		if err != nil {
			t.Errorf("%s: re-parse: %v\n%s", name, err, got.Encode())
		} else if diff := cmp.Diff(got, again); diff != "" {
			t.Errorf("%s: round trip (-want +got)\n%s", name, diff)
		}
	}
	if _, _, err := Load(fstest.MapFS{"notes.txt": {}}); err != ErrNoRunCommand {
		t.Errorf("nothing to run: %v", err)
	}
	if _, _, err := Load(fstest.MapFS{"package.json": {Data: []byte(`{`)}}); err == nil {
		t.Error("broken package.json accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("run = \"npm start\"\nport = 3000\n"))
	f.Add([]byte("run = 'x'\n[env]\nA = \"b\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		again, err := Parse(c.Encode())
		if err != nil {
			t.Fatalf("valid config %+v does not re-parse: %v", c, err)
		}
		if !cmp.Equal(c, again, cmp.Comparer(func(a, b map[string]string) bool {
			return len(a) == len(b) && cmp.Equal(a, b) || len(a) == 0 && len(b) == 0
		})) {
			t.Fatalf("round trip changed %+v to %+v", c, again)
		}
	})
}
