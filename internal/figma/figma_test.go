package figma_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"

	"ecode/internal/figma"
	"ecode/internal/figma/figmatest"
)

func roundTrip(t testing.TB, f *figma.File) *figma.File {
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := figma.Parse(bytes.NewReader(b), 0)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func convert(t *testing.T, f *figma.File, opt figma.Options) *figma.Result {
	t.Helper()
	res, err := figma.Convert(context.Background(), roundTrip(t, f), opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// rule returns the declarations of the CSS rule whose selector is sel.
func rule(t *testing.T, css, sel string) string {
	t.Helper()
	i := strings.Index(css, "\n"+sel+" {\n")
	if i < 0 {
		t.Fatalf("no rule %s in\n%s", sel, css)
	}
	rest := css[i+len(sel)+4:]
	return rest[:strings.Index(rest, "}")]
}

func wantDecls(t *testing.T, css, sel string, decls ...string) {
	t.Helper()
	r := rule(t, css, sel)
	for _, d := range decls {
		if !strings.Contains(r, "  "+d+";\n") {
			t.Errorf("%s lacks %q:\n%s", sel, d, r)
		}
	}
}

func TestConvertLayoutAndStyles(t *testing.T) {
	res := convert(t, figmatest.Document(), figma.Options{})
	css := string(res.Files["src/figma.css"])
	// Colours and text styles are variables, named after the file's styles.
	for _, v := range []string{"--color-surface-white: #ffffff;", "--color-brand-green: #16a34a;", "--text-2-size: 24px;", "--text-2-family: \"Inter\", sans-serif;", "--text-2-line-height: 24px;", "--text-2-letter-spacing: 0.5px;", "--text-2-weight: 600;"} {
		if !strings.Contains(css, v) {
			t.Errorf("stylesheet lacks %s", v)
		}
	}
	wantDecls(t, css, ".f-1-2", "position: relative", "width: 400px", "height: 330px", "background-color: var(--color-surface-white)",
		"display: flex", "flex-direction: column", "gap: 16px", "padding: 24px 24px 24px 24px", "overflow: hidden")
	wantDecls(t, css, ".f-1-3", "align-self: stretch", "width: auto", "height: auto", "display: flex", "flex-direction: row", "justify-content: space-between", "align-items: center")
	if strings.Contains(rule(t, css, ".f-1-3"), "gap") {
		t.Error("space-between with Figma's stale item spacing also set a gap")
	}
	wantDecls(t, css, ".f-1-7", "align-self: stretch", "height: 120px", "border-radius: 12px", "outline: 1px solid var(--color-5)", "outline-offset: -1px",
		"box-shadow: 0px 4px 8px 0px rgba(0, 0, 0, 0.25)", "background: linear-gradient(90deg, #ffe6cc 0%, #cce6ff 100%)")
	wantDecls(t, css, ".f-1-8", "position: absolute", "left: 16px", "top: 16px", "width: 60px", "height: 24px", "opacity: 0.9", "background-color: var(--color-brand-green)")
	wantDecls(t, css, ".f-1-6", "flex-shrink: 0", "width: 200px", "font-size: var(--text-2-size)", "white-space: pre-wrap")
	wantDecls(t, css, ".f-1-10", "gap: 12px", "height: auto")
	// Instances: their placement on the component's root class.
	wantDecls(t, css, ".f-2-1.f-1-11", "flex: 1 1 0", "height: 40px")
	wantDecls(t, css, ".f-2-1", "padding: 8px 16px 8px 16px", "justify-content: center", "border-radius: 8px")

	btn := string(res.Files["src/components/Button.tsx"])
	for _, s := range []string{"export interface ButtonProps", "label?: string", `label = "Label"`, "{label}", `data-figma-id={figmaId}`} {
		if !strings.Contains(btn, s) {
			t.Errorf("Button.tsx lacks %q:\n%s", s, btn)
		}
	}
	landing := string(res.Files["src/frames/Landing.tsx"])
	for _, s := range []string{"import Button from '../components/Button'", `<Button className="f-1-11" figmaId={"1:11"} label={"Buy now"} />`,
		`<Button className="f-1-12" figmaId={"1:12"} label={"Cancel"} />`, `{"Hello, Figma"}`, `data-missing-asset="true"`} {
		if !strings.Contains(landing, s) {
			t.Errorf("Landing.tsx lacks %q:\n%s", s, landing)
		}
	}
	app := string(res.Files["src/App.tsx"])
	if !strings.Contains(app, "import Landing from './frames/Landing'") || !strings.Contains(app, "import Button2 from './frames/Button2'") {
		t.Errorf("App.tsx:\n%s", app)
	}
	static := string(res.Files["figma-static.html"])
	for _, s := range []string{`class="f-2-1 f-1-11" data-figma-id="1:11"`, ">Buy now</p>", ">Cancel</p>", "<style>"} {
		if !strings.Contains(static, s) {
			t.Errorf("static page lacks %q", s)
		}
	}
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "2 images and vectors were not fetched") {
		t.Errorf("notes %q", res.Notes)
	}
	if res.Screens != 2 || res.Components != 1 {
		t.Errorf("screens %d components %d", res.Screens, res.Components)
	}
}

func TestConvertIsDeterministic(t *testing.T) {
	a := convert(t, figmatest.Generated(300), figma.Options{})
	for range 3 {
		b := convert(t, figmatest.Generated(300), figma.Options{})
		if !maps.EqualFunc(a.Files, b.Files, bytes.Equal) {
			for k := range a.Files {
				if !bytes.Equal(a.Files[k], b.Files[k]) {
					t.Fatalf("%s differs between two conversions", k)
				}
			}
			t.Fatal("the file sets differ")
		}
	}
}

func TestConvertFetchesAssets(t *testing.T) {
	var asked []string
	render := func(_ context.Context, ids []string, format string) (map[string][]byte, error) {
		asked = append(asked, format+":"+strings.Join(ids, ","))
		out := map[string][]byte{}
		for _, id := range ids {
			out[id] = []byte(format + " of " + id)
		}
		return out, nil
	}
	res := convert(t, figmatest.Document(), figma.Options{Render: render})
	if strings.Join(asked, " ") != "png:1:4 svg:1:5" {
		t.Errorf("renders asked %q", asked)
	}
	if string(res.Files["src/assets/logo-1-4.png"]) != "png of 1:4" || string(res.Files["src/assets/icon-1-5.svg"]) != "svg of 1:5" {
		t.Errorf("assets not written: %v", keys(res.Files))
	}
	if a := string(res.Files["src/assets.ts"]); !strings.Contains(a, `import a0 from './assets/logo-1-4.png'`) || !strings.Contains(a, `"1:5": a1,`) {
		t.Errorf("assets.ts:\n%s", a)
	}
	if l := string(res.Files["src/frames/Landing.tsx"]); !strings.Contains(l, `src={assets["1:4"]}`) || strings.Contains(l, "data-missing-asset") {
		t.Errorf("Landing.tsx:\n%s", l)
	}
	if res.Assets != 2 || len(res.Notes) != 0 {
		t.Errorf("assets %d notes %q", res.Assets, res.Notes)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestParseRefusals(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{``, "not a Figma file's JSON"},
		{`[1,2]`, "not a Figma file's JSON"},
		{`{"name": 3}`, "wrong type"},
		{`{"editorType":"figjam","document":{"type":"DOCUMENT"}}`, "FigJam"},
		{`{"name":"x"}`, "no document node"},
		{`{"document":{"type":"DOCUMENT","children":[]}}`, "no pages"},
		{`{"document":{"type":"DOCUMENT","children":[{"type":"CANVAS","children":[]}]}}`, ""},
		{strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000), "nested more than"},
	} {
		_, err := figma.Parse(strings.NewReader(c.doc), 0)
		var p *figma.Problem
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%.40s: %v", c.doc, err)
		case c.want != "" && (!errors.As(err, &p) || !strings.Contains(p.Msg, c.want)):
			t.Errorf("%.40s: got %v, want %q", c.doc, err, c.want)
		}
	}
	if _, err := figma.Parse(strings.NewReader(`{"document":{"type":"DOCUMENT"}}`+strings.Repeat(" ", 2<<20)), 1<<20); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("oversize: %v", err)
	}
	f, _ := figma.Parse(strings.NewReader(`{"document":{"type":"DOCUMENT","children":[{"type":"CANVAS","children":[{"type":"RECTANGLE","name":"R"}]}]}}`), 0)
	if _, err := figma.Convert(context.Background(), f, figma.Options{}); err == nil || !strings.Contains(err.Error(), "no top-level frames") {
		t.Errorf("no frames: %v", err)
	}
}

func TestFileKey(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.figma.com/file/AbCdEf0123456789/My-Design?node-id=1-2":   "AbCdEf0123456789",
		"https://www.figma.com/design/XyZ0123456789abc/Landing":               "XyZ0123456789abc",
		"https://figma.com/design/XyZ0123456789abc/branch/BrAnCh0123456789/y": "BrAnCh0123456789",
		"https://www.figma.com/proto/PrOtO0123456789/x":                       "PrOtO0123456789",
		"AbCdEf0123456789":                               "AbCdEf0123456789",
		"https://www.figma.com/files/recent":             "error: no Figma file key",
		"https://www.figma.com/design/":                  "error: no Figma file key",
		"https://example.com/design/AbCdEf0123456789/x":  "error: not a Figma address",
		"https://www.figma.com/board/AbCdEf0123456789/x": "error: FigJam",
		"not a url": "error: not a Figma file URL",
	} {
		got, err := figma.FileKey(in)
		if err != nil {
			got = "error: " + err.Error()
		}
		if !strings.HasPrefix(got, want) && !(strings.HasPrefix(want, "error: ") && strings.Contains(got, strings.TrimPrefix(want, "error: "))) {
			t.Errorf("FileKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse feeds arbitrary JSON to the parser and the converter: neither
// may panic, and what parses converts or is refused with a Problem.
func FuzzParse(f *testing.F) {
	doc, _ := json.Marshal(figmatest.Document())
	f.Add(doc)
	f.Add([]byte(`{"document":{"type":"DOCUMENT","children":[{"type":"CANVAS","children":[{"type":"FRAME","layoutMode":"HORIZONTAL","children":[{"type":"INSTANCE","componentId":"x"}]}]}]}}`))
	f.Add([]byte(`{"document":{"type":"DOCUMENT","children":[{"type":"CANVAS","children":[{"id":"1","type":"COMPONENT","children":[{"id":"1","type":"INSTANCE","componentId":"1"}]}]}]}}`))
	f.Add([]byte(`{"document":{"type":"DOCUMENT","children":[{"type":"CANVAS","children":[{"type":"FRAME","fills":[{"type":"GRADIENT_LINEAR","gradientHandlePositions":[{"x":0.5,"y":0.5},{"x":0.5,"y":0.5}],"gradientStops":[{"position":2}]}]}]}]}}`))
	f.Add([]byte(`{"document":{"type":"DOCUMENT","children":[{"type":"CANVAS","children":[{"type":"FRAME","children":[{"type":"TEXT","characters":"a👋b","characterStyleOverrides":[-1,9,1,1,1],"styleOverrideTable":{"1":{"fontSize":-3},"9":null}}]}]}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := figma.Parse(bytes.NewReader(b), 1<<20)
		if err != nil {
			var p *figma.Problem
			if !errors.As(err, &p) {
				t.Fatalf("a parse error that is not a Problem: %v", err)
			}
			return
		}
		res, err := figma.Convert(context.Background(), file, figma.Options{})
		if err != nil {
			var p *figma.Problem
			if !errors.As(err, &p) {
				t.Fatalf("a conversion error that is not a Problem: %v", err)
			}
			return
		}
		if len(res.Files["src/App.tsx"]) == 0 {
			t.Fatal("no App.tsx")
		}
	})
}

func jsonOf(f *figma.File) ([]byte, error) { return json.Marshal(f) }

func BenchmarkConvert2000(b *testing.B) {
	doc, _ := json.Marshal(figmatest.Generated(2000))
	for b.Loop() {
		f, err := figma.Parse(bytes.NewReader(doc), 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := figma.Convert(context.Background(), f, figma.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMixedTextStylesAndRotation(t *testing.T) {
	f := figmatest.Document()
	title := f.Document.Children[0].Children[0].Children[0].Children[2] // Header → Title
	title.Characters = "ab👋c<d"
	title.CharacterStyleOverrides = []int{0, 0, 1, 1} // by code point; the tail is the base style
	title.StyleOverrideTable = map[string]*figma.TypeStyle{"1": {FontWeight: 700, Fills: []figma.Paint{{Type: "SOLID", Color: &figma.Color{R: 1, A: 1}}}}}
	f.Document.Children[0].Children[0].Children[1].Children[0].Rotation = 0.5 // Card → Badge
	res := convert(t, f, figma.Options{})
	if !strings.Contains(strings.Join(res.Notes, "\n"), `rotated layers (such as "Badge") were drawn unrotated`) {
		t.Errorf("notes %q", res.Notes)
	}
	css := string(res.Files["src/figma.css"])
	wantDecls(t, css, ".f-1-6-s1", "font-weight: 700")
	if r := rule(t, css, ".f-1-6-s1"); !strings.Contains(r, "color: var(--color-") {
		t.Errorf("override colour missing: %s", r)
	}
	landing := string(res.Files["src/frames/Landing.tsx"])
	if !strings.Contains(landing, `>{"ab"}<span className="f-1-6-s1">{"👋c"}</span>{"\u003cd"}</p>`) {
		t.Errorf("runs in Landing.tsx:\n%s", landing)
	}
	if static := string(res.Files["figma-static.html"]); !strings.Contains(static, `>ab<span class="f-1-6-s1">👋c</span>&lt;d</p>`) {
		t.Errorf("runs in the static page")
	}
}
