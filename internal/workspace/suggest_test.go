package workspace

import (
	"strings"
	"testing"
)

func TestSuggestTemplate(t *testing.T) {
	for prompt, want := range map[string]string{
		"A landing page for my bakery with a contact form": "static",
		"a todo list app":                             "static",
		"Build a REST API for notes with Express":     "node",
		"a Discord bot that tells jokes":              "node",
		"Scrape weather data with Python and plot it": "python",
		"a Flask app to track expenses":               "python",
		"An HTTP server in Go that serves my photos":  "go",
		"a golang cli":                                "go",
		"let's go build a snake game":                 "static",
		"":                                            "static",
		"something":                                   "static",
	} {
		if got := SuggestTemplate(prompt); got != want {
			t.Errorf("SuggestTemplate(%q) = %q, want %q", prompt, got, want)
		}
	}
}

func FuzzSuggestTemplate(f *testing.F) {
	for _, s := range []string{"", "go go go", "python node html", "A REST API in golang", "\xff\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		if id := SuggestTemplate(prompt); !TemplateExists(id) {
			t.Fatalf("%q -> %q, not a template", prompt, id)
		}
	})
}

func TestNamePackage(t *testing.T) {
	_, p := newProject(t)
	if err := p.CopyTemplate("node"); err != nil {
		t.Fatal(err)
	}
	if err := p.NamePackage("My Cool App!"); err != nil {
		t.Fatal(err)
	}
	b, err := p.ReadFile("package.json", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"name": "my-cool-app",`) || !strings.Contains(string(b), `"start": "node index.js"`) {
		t.Errorf("package.json:\n%s", b)
	}
	// Without a package.json nothing happens.
	_, blank := newProject(t)
	if err := blank.NamePackage("x"); err != nil {
		t.Error(err)
	}
	for in, want := range map[string]string{"My Cool App!": "my-cool-app", "   ": "app", "Ünïcode Ärt": "n-code-rt", "a.b_c": "a.b_c"} {
		if got := PackageName(in); got != want {
			t.Errorf("PackageName(%q) = %q, want %q", in, got, want)
		}
	}
}
