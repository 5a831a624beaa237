package workspace

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
)

// templateHints are, per template, words of a prompt that point to it; the
// first template with the most hits wins. Deterministic and small on purpose:
// the agent adapts the project anyway, the template only gives it a start.
var templateHints = []struct {
	id    string
	words []string
}{
	{"python", []string{"python", "flask", "django", "fastapi", "pandas", "numpy", "jupyter", "scrape", "scraper", "pip", "py"}},
	{"go", []string{"golang", "go", "gin", "goroutine", "goroutines"}},
	{"node", []string{"node", "nodejs", "node.js", "express", "npm", "backend", "api", "rest", "server", "websocket", "bot", "discord", "slack", "json", "endpoint", "database", "typescript"}},
	{"static", []string{"html", "css", "website", "site", "page", "landing", "portfolio", "static", "game", "canvas", "animation", "calculator", "todo", "clock", "timer", "quiz", "form", "frontend", "ui", "blog", "gallery"}},
}

var wordRE = regexp.MustCompile(`[a-z0-9.+#]+`)

// SuggestTemplate picks the starter template that fits a description of
// what the user wants to build: "static" for pages, "node" for servers and
// APIs, "python" or "go" when named; "static" when nothing points anywhere.
func SuggestTemplate(prompt string) string {
	words := map[string]int{}
	for _, w := range wordRE.FindAllString(strings.ToLower(prompt), -1) {
		words[strings.TrimRight(w, ".")]++
	}
	best, bestHits := "static", 0
	for _, t := range templateHints {
		hits := 0
		for _, w := range t.words {
			hits += words[w]
		}
		// Naming a language outweighs describing a kind of app.
		if (t.id == "python" && words["python"] > 0) || (t.id == "go" && (words["golang"] > 0 || words["go"] > 0 && hasGoContext(words))) {
			hits += 10
		}
		if t.id == "go" && words["golang"] == 0 && !hasGoContext(words) {
			hits = 0 // "go" alone is usually the verb
		}
		if hits > bestHits {
			best, bestHits = t.id, hits
		}
	}
	return best
}

// hasGoContext: "go" next to words that make it the language, not the verb.
func hasGoContext(words map[string]int) bool {
	for _, w := range []string{"server", "api", "service", "program", "cli", "binary", "backend", "module", "stdlib"} {
		if words[w] > 0 && words["go"] > 0 {
			return true
		}
	}
	return words["golang"] > 0
}

// NamePackage sets the "name" of the project's package.json (a template's
// placeholder name) to a package name made from the project's name. A
// project without a package.json, or with one that is not a JSON object,
// is left alone.
func (p *Project) NamePackage(projectName string) error {
	b, err := p.ReadFile("package.json", 1<<20)
	if err != nil {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil || fields["name"] == nil {
		return nil
	}
	name, _ := json.Marshal(PackageName(projectName))
	// Replace the value in place so that the file keeps its order and layout.
	re := regexp.MustCompile(`("name"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	loc := re.FindSubmatchIndex(b)
	if loc == nil {
		return nil
	}
	out := append(append(append([]byte{}, b[:loc[3]]...), name...), b[loc[1]:]...)
	if !json.Valid(out) {
		return nil
	}
	_, err = p.WriteFile("package.json", bytes.NewReader(out), int64(len(out)))
	return err
}

var nonPackageChars = regexp.MustCompile(`[^a-z0-9._~-]+`)

// PackageName turns a project name into a valid npm package name
// ("My Cool App!" -> "my-cool-app"), "app" when nothing is left.
func PackageName(projectName string) string {
	s := nonPackageChars.ReplaceAllString(strings.ToLower(projectName), "-")
	s = strings.Trim(s, "-._~")
	if len(s) > 214 {
		s = strings.Trim(s[:214], "-._~")
	}
	if s == "" {
		return "app"
	}
	return s
}
