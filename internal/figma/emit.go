package figma

import (
	"encoding/json"
	"fmt"
	"html"
	"sort"
	"strings"
)

// jsString is a JavaScript string literal (JSON's is one).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// emit writes the project's files: name → content.
func (c *converter) emit(title string, fetched map[string]bool) map[string][]byte {
	out := map[string][]byte{}
	out["package.json"] = []byte(packageJSON)
	out["vite.config.ts"] = []byte(viteConfig)
	out["tsconfig.json"] = []byte(tsconfig)
	out["src/vite-env.d.ts"] = []byte("/// <reference types=\"vite/client\" />\n")
	out["index.html"] = []byte(fmt.Sprintf(indexHTML, html.EscapeString(title)))
	out["src/main.tsx"] = []byte(mainTSX)
	css := c.stylesheet()
	out["src/figma.css"] = []byte(css)
	out["src/assets.ts"] = []byte(c.assetsModule(fetched))
	var app strings.Builder
	app.WriteString("// The design's frames, one after another at their designed sizes.\n")
	for _, s := range c.screens {
		fmt.Fprintf(&app, "import %s from './frames/%s'\n", s.name, s.name)
	}
	app.WriteString("\nexport default function App() {\n  return (\n    <main className=\"figma-page\">\n")
	for _, s := range c.screens {
		fmt.Fprintf(&app, "      <section className=\"figma-screen\" aria-label=%s>\n        <h2 className=\"figma-screen-name\">%s</h2>\n        <%s />\n      </section>\n",
			jsString(s.name), jsxText(s.root.node.Name), s.name)
	}
	app.WriteString("    </main>\n  )\n}\n")
	out["src/App.tsx"] = []byte(app.String())
	for _, s := range c.screens {
		out["src/frames/"+s.name+".tsx"] = []byte(c.module(s.name, s.root, nil, fetched))
	}
	for _, comp := range c.compOrder {
		out["src/components/"+comp.name+".tsx"] = []byte(c.module(comp.name, comp.root, comp, fetched))
	}
	out["figma-static.html"] = []byte(c.staticHTML(title, css, fetched))
	return out
}

func (c *converter) stylesheet() string {
	var b strings.Builder
	b.WriteString("/* Generated from a Figma file. Colours and text styles are variables. */\n:root {\n")
	for _, v := range c.v.order {
		fmt.Fprintf(&b, "  %s: %s;\n", v.prop, v.val)
	}
	b.WriteString("}\n\n")
	b.WriteString(baseCSS)
	for _, r := range c.rules {
		fmt.Fprintf(&b, "%s {\n", r.selector)
		for _, d := range r.decls {
			fmt.Fprintf(&b, "  %s: %s;\n", d.prop, d.val)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func (c *converter) assetsModule(fetched map[string]bool) string {
	var b strings.Builder
	b.WriteString("// Images and vectors rendered by Figma.\n")
	var keys []string
	for i, a := range c.assets {
		if fetched[a.id] {
			fmt.Fprintf(&b, "import a%d from './assets/%s'\n", i, a.file)
			keys = append(keys, fmt.Sprintf("  %s: a%d,", jsString(a.id), i))
		}
	}
	b.WriteString("\nexport const assets: Record<string, string> = {\n")
	for _, k := range keys {
		b.WriteString(k + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// module is a frame's or a component's .tsx file.
func (c *converter) module(name string, root *elem, comp *component, fetched map[string]bool) string {
	var body strings.Builder
	used := map[string]bool{}
	usesAssets := false
	c.jsx(&body, root, comp, 2, true, used, &usesAssets, fetched)
	var b strings.Builder
	fmt.Fprintf(&b, "// %s, from the Figma layer %s.\n", name, jsString(root.node.Name))
	if usesAssets {
		b.WriteString("import { assets } from '../assets'\n")
	}
	var deps []string
	for d := range used {
		if d != name {
			deps = append(deps, d)
		}
	}
	sort.Strings(deps)
	for _, d := range deps {
		fmt.Fprintf(&b, "import %s from '../components/%s'\n", d, d)
	}
	if comp == nil {
		fmt.Fprintf(&b, "\nexport default function %s() {\n  return (\n%s  )\n}\n", name, body.String())
		return b.String()
	}
	fmt.Fprintf(&b, "\nexport interface %sProps {\n", name)
	for _, p := range comp.props {
		fmt.Fprintf(&b, "  %s?: string\n", p.prop)
	}
	b.WriteString("  className?: string\n  figmaId?: string\n}\n\n")
	params := []string{}
	for _, p := range comp.props {
		params = append(params, fmt.Sprintf("%s = %s", p.prop, jsString(p.val)))
	}
	params = append(params, "className = ''", "figmaId = "+jsString(comp.node.ID))
	fmt.Fprintf(&b, "export default function %s({ %s }: %sProps) {\n  return (\n%s  )\n}\n", name, strings.Join(params, ", "), name, body.String())
	return b.String()
}

// jsx writes an element; root marks a component's root, which takes the
// instance's class and id.
func (c *converter) jsx(b *strings.Builder, e *elem, comp *component, depth int, root bool, used map[string]bool, usesAssets *bool, fetched map[string]bool) {
	ind := strings.Repeat("  ", depth)
	id := jsString(e.node.ID)
	if e.comp != nil && !(root && comp != nil) {
		used[e.comp.name] = true
		attrs := []string{}
		if e.class != "" {
			attrs = append(attrs, "className="+jsString(e.class))
		}
		attrs = append(attrs, "figmaId={"+id+"}")
		for _, p := range e.props {
			attrs = append(attrs, p.prop+"={"+jsString(p.val)+"}")
		}
		fmt.Fprintf(b, "%s<%s %s />\n", ind, e.comp.name, strings.Join(attrs, " "))
		return
	}
	cls, idAttr := jsString(e.class), "data-figma-id={"+id+"}"
	if root && comp != nil {
		cls, idAttr = "{"+jsString(e.class+" ")+" + className}", "data-figma-id={figmaId}"
	}
	switch {
	case e.tag == "img" && fetched[e.asset]:
		*usesAssets = true
		fmt.Fprintf(b, "%s<img className=%s %s src={assets[%s]} alt={%s} />\n", ind, cls, idAttr, jsString(e.asset), jsString(e.node.Name))
	case e.tag == "img":
		fmt.Fprintf(b, "%s<div className=%s %s data-missing-asset=\"true\" />\n", ind, strings.Replace(cls, `"f-`, `"figma-missing f-`, 1), idAttr)
	case e.tag == "p":
		text := "{" + jsString(e.text) + "}"
		if e.prop != "" {
			text = "{" + e.prop + "}"
		} else if len(e.runs) > 0 {
			text = ""
			for _, r := range e.runs {
				if r.class == "" {
					text += "{" + jsString(r.text) + "}"
				} else {
					text += "<span className=" + jsString(r.class) + ">{" + jsString(r.text) + "}</span>"
				}
			}
		}
		fmt.Fprintf(b, "%s<p className=%s %s>%s</p>\n", ind, cls, idAttr, text)
	case len(e.children) == 0:
		fmt.Fprintf(b, "%s<div className=%s %s />\n", ind, cls, idAttr)
	default:
		fmt.Fprintf(b, "%s<div className=%s %s>\n", ind, cls, idAttr)
		for _, ch := range e.children {
			c.jsx(b, ch, comp, depth+1, false, used, usesAssets, fetched)
		}
		fmt.Fprintf(b, "%s</div>\n", ind)
	}
}

func jsxText(s string) string {
	return "{" + jsString(s) + "}"
}

// staticHTML is the whole design as one HTML page, instances expanded, for
// viewing without a build (and for fidelity checks).
func (c *converter) staticHTML(title, css string, fetched map[string]bool) string {
	c.budget = 200000
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n<main class=\"figma-page\">\n",
		html.EscapeString(title), strings.ReplaceAll(css, "</", "<\\/"))
	for _, s := range c.screens {
		fmt.Fprintf(&b, "<section class=\"figma-screen\" aria-label=\"%s\">\n<h2 class=\"figma-screen-name\">%s</h2>\n", html.EscapeString(s.name), html.EscapeString(s.root.node.Name))
		c.html(&b, s.root, "", "", nil, fetched, 0)
		b.WriteString("</section>\n")
	}
	b.WriteString("</main>\n</body>\n</html>\n")
	return b.String()
}

// html writes an element; extraClass and id come from the instance that
// draws a component root, props are its text overrides.
func (c *converter) html(b *strings.Builder, e *elem, extraClass, id string, props map[string]string, fetched map[string]bool, depth int) {
	if depth > 4*maxDepth || c.budget <= 0 {
		if c.budget == 0 {
			c.budget--
			b.WriteString("<!-- the rest of the design is too large for this page; see the React project -->\n")
		}
		return
	}
	c.budget--
	if e.comp != nil && e.comp.root != nil && e.comp.root != e {
		p := map[string]string{}
		for _, d := range e.comp.props {
			p[d.prop] = d.val
		}
		for _, d := range e.props {
			p[d.prop] = d.val
		}
		c.html(b, e.comp.root, e.class, e.node.ID, p, fetched, depth+1)
		return
	}
	cls := e.class
	if extraClass != "" {
		cls += " " + extraClass
	}
	if id == "" {
		id = e.node.ID
	}
	attrs := fmt.Sprintf(`class="%s" data-figma-id="%s"`, html.EscapeString(cls), html.EscapeString(id))
	switch {
	case e.tag == "img" && fetched[e.asset]:
		fmt.Fprintf(b, "<img %s src=\"src/assets/%s\" alt=\"%s\">\n", attrs, html.EscapeString(c.assetFile(e.asset)), html.EscapeString(e.node.Name))
	case e.tag == "img":
		fmt.Fprintf(b, "<div %s data-missing-asset=\"true\"></div>\n", strings.Replace(attrs, `class="`, `class="figma-missing `, 1))
	case e.tag == "p":
		text := html.EscapeString(e.text)
		if v, ok := props[e.prop]; ok && e.prop != "" {
			text = html.EscapeString(v)
		} else if len(e.runs) > 0 {
			text = ""
			for _, r := range e.runs {
				if r.class == "" {
					text += html.EscapeString(r.text)
				} else {
					text += `<span class="` + r.class + `">` + html.EscapeString(r.text) + "</span>"
				}
			}
		}
		fmt.Fprintf(b, "<p %s>%s</p>\n", attrs, text)
	default:
		fmt.Fprintf(b, "<div %s>", attrs)
		if len(e.children) > 0 {
			b.WriteString("\n")
		}
		for _, ch := range e.children {
			c.html(b, ch, "", "", props, fetched, depth+1)
		}
		b.WriteString("</div>\n")
	}
}

func (c *converter) assetFile(id string) string { return c.assetByID[id] }

const baseCSS = `*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; background: #f5f5f5; font-family: sans-serif; }
.figma-page { display: flex; flex-direction: column; align-items: flex-start; gap: 48px; padding: 32px; }
.figma-screen-name { margin: 0 0 8px; font: 500 14px/1.4 sans-serif; color: #555; }
.figma-missing { background: repeating-linear-gradient(45deg, #ddd 0 8px, #eee 8px 16px); }
img[data-figma-id] { display: block; }

`

const packageJSON = `{
  "name": "figma-design",
  "private": true,
  "version": "0.0.0",
  "type": "module",
  "scripts": {
    "dev": "vite",
    "build": "tsc --noEmit && vite build",
    "preview": "vite preview"
  },
  "dependencies": {
    "react": "^19.3.1",
    "react-dom": "^19.3.1"
  },
  "devDependencies": {
    "@types/react": "^19.3.3",
    "@types/react-dom": "^19.3.0",
    "@vitejs/plugin-react": "^6.3.0",
    "typescript": "^7.0.2",
    "vite": "^8.3.8"
  }
}
`

const viteConfig = `import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

export default defineConfig({
  plugins: [react()],
})
`

const tsconfig = `{
  "compilerOptions": {
    "target": "ES2020",
    "lib": ["ES2020", "DOM", "DOM.Iterable"],
    "module": "ESNext",
    "moduleResolution": "bundler",
    "jsx": "react-jsx",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true,
    "isolatedModules": true
  },
  "include": ["src"]
}
`

const indexHTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>%s</title>
  </head>
  <body>
    <div id="root"></div>
    <script type="module" src="/src/main.tsx"></script>
  </body>
</html>
`

const mainTSX = `import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import App from './App'
import './figma.css'

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
`
