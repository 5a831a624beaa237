// Package archtest checks rules of the repository's shape that the compiler
// does not: which internal packages may import which, and that every package
// says what it is in a doc comment.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "ecode/"

// allowed lists, for each package, the internal packages it may import.
// Imports flow one way: cmd → app → api → {auth, workspace} → store; store,
// sandbox, yjs, workspace and config import nothing internal. A new package
// must be added here.
var allowed = map[string][]string{
	"cmd/ecode":                    {"internal/app"},
	"internal/app":                 {"internal/live", "internal/revoke", "internal/projectdb", "internal/projects", "internal/checkpoint", "internal/history", "internal/agent", "internal/agentrun", "internal/api", "internal/auth", "internal/collab", "internal/config", "internal/runner", "internal/store", "internal/workspace", "internal/sandbox", "internal/sandbox/remote", "internal/volume", "internal/egress", "internal/errtrack", "internal/notify", "internal/telemetry", "internal/yjs", "internal/secretbox", "internal/secrets", "internal/netlimit", "ui", "internal/domains", "internal/imports", "internal/jobs", "internal/billing", "internal/deploy", "internal/client", "internal/figma", "internal/monitor", "internal/backup", "internal/tracing", "internal/cluster", "internal/sandbox/kube"},
	"internal/api":                 {"internal/countwriter", "internal/wsock", "internal/errtrack", "internal/notify", "internal/live", "internal/revoke", "internal/projects", "internal/history", "internal/agent", "internal/agentrun", "internal/auth", "internal/collab", "internal/runner", "internal/secrets", "internal/store", "internal/telemetry", "internal/workspace", "internal/domains", "internal/imports", "internal/jobs", "internal/billing", "internal/deploy", "internal/monitor", "internal/backup", "internal/cluster"},
	"internal/cluster":             {"internal/store"},
	"internal/collab":              {"internal/store", "internal/workspace", "internal/wsock", "internal/yjs", "internal/yjs/protocol"},
	"internal/runner":              {"internal/runconfig", "internal/sandbox", "internal/secrets", "internal/store"},
	"internal/secrets":             {"internal/secretbox", "internal/store"},
	"internal/imports":             {"internal/jobs", "internal/runconfig", "internal/secrets", "internal/store"},
	"internal/billing":             {"internal/store"},
	"internal/figma":               {}, // with internal/figma/figmatest: the test document and a fake Figma server
	"internal/billing/paytest":     {"internal/testutil/testdb"},
	"internal/domains/domaintest":  {"internal/testutil/testdb"},
	"internal/runconfig":           {},
	"internal/volume":              {},
	"internal/dbproxy":             {"internal/sandbox"},
	"internal/testutil/testdb":     {"internal/store"},
	"internal/deploy":              {"internal/countwriter", "internal/checkpoint", "internal/runconfig", "internal/sandbox", "internal/secrets", "internal/store", "internal/cluster"},
	"internal/history":             {"internal/auth", "internal/projectdb", "internal/checkpoint", "internal/runconfig", "internal/runner", "internal/store", "internal/workspace"},
	"internal/egress":              {"internal/sandbox"},
	"internal/telemetry":           {},
	"internal/tracing":             {},
	"internal/errtrack":            {"internal/store"},
	"internal/monitor":             {"internal/store"},
	"internal/countwriter":         nil,
	"internal/wsock":               nil,
	"internal/notify":              {"internal/store"},
	"internal/auth":                {"internal/store", "internal/secretbox", "internal/revoke"},
	"internal/client":              {"internal/api", "internal/workspace"},
	"internal/testutil":            {"internal/app", "internal/config", "internal/projects", "internal/testutil/testdb", "internal/client", "internal/sandbox", "internal/store"},
	"internal/projects":            {"internal/agentrun", "internal/auth", "internal/collab", "internal/history", "internal/revoke", "internal/projectdb", "internal/runner", "internal/store", "internal/workspace", "internal/jobs", "internal/live"},
	"internal/jobs":                {"internal/store"},
	"internal/backup":              {"internal/store", "internal/checkpoint"},
	"internal/projectdb":           {"internal/dbproxy", "internal/sandbox"},
	"internal/live":                {"internal/revoke"},
	"internal/revoke":              {},
	"internal/config":              {},
	"internal/store":               {},
	"internal/workspace":           {},
	"internal/sandbox":             {},
	"internal/sandbox/remote":      {"internal/sandbox"},
	"internal/sandbox/sandboxtest": {"internal/sandbox"},
	"internal/yjs":                 {"internal/linediff"},
	"internal/linediff":            {},
	"internal/checkpoint":          {"internal/linediff"},
	"internal/agent":               {}, // with internal/agent/fake; the lead implements its Env interfaces
	"internal/agentrun":            {"internal/agent", "internal/runner", "internal/workspace", "internal/store", "internal/runconfig", "internal/secretbox", "internal/secrets", "internal/billing"},
	"internal/secretbox":           {},
	"internal/netlimit":            {},
	"internal/archtest":            {},
	"ui":                           {},
	"bench/internal/benchsrv":      {"internal/app", "internal/config", "internal/client"},
	"bench/collabbench":            {"bench/internal/benchsrv", "internal/app", "internal/config", "internal/client", "internal/yjs"},
	"bench/filebench":              {"bench/internal/benchsrv", "internal/app", "internal/config", "internal/client"},
	"bench/nodebench":              {"bench/internal/benchsrv", "internal/app", "internal/config", "internal/client"},
	"bench/runbench":               {"bench/internal/benchsrv", "internal/app", "internal/config", "internal/client"},
	"bench/deploybench":            {"bench/internal/benchsrv", "internal/app", "internal/config", "internal/client", "internal/sandbox"},
	"bench/coldstartbench":         {"bench/internal/benchsrv", "internal/app", "internal/config", "internal/client"},
	"bench/capacitybench":          {"bench/internal/benchsrv", "internal/app", "internal/config", "internal/client"},
	"bench/obsbench":               {"bench/internal/benchsrv", "internal/app", "internal/config", "internal/client", "internal/yjs", "internal/yjs/protocol"},
	"bench/checkpointbench":        {"internal/checkpoint"},
	"bench/maskbench":              {"internal/runner", "internal/secrets"},
	"internal/domains":             {"internal/store", "internal/secretbox"},
	"bench/ledgerbench":            {"internal/billing", "internal/store"},
	"bench/importbench":            {"bench/internal/benchsrv", "internal/app", "internal/config", "internal/client", "internal/figma", "internal/figma/figmatest"},
	"internal/sandbox/kube":        {"internal/sandbox"},
}

func repoRoot(t *testing.T) string {
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("repo root not found at %s", dir)
	}
	return dir
}

// packages maps each package directory (relative to the root) to its
// non-test Go files.
func packages(t *testing.T, root string) map[string][]string {
	pkgs := map[string][]string{}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			pkgs[filepath.ToSlash(rel)] = append(pkgs[filepath.ToSlash(rel)], path)
		}
		return nil
	})
	return pkgs
}

// owner is the entry of allowed that governs pkg (subpackages follow their parent).
func owner(pkg string) (string, bool) {
	for p := pkg; p != "." && p != ""; p = filepath.ToSlash(filepath.Dir(p)) {
		if _, ok := allowed[p]; ok {
			return p, true
		}
	}
	return "", false
}

func TestImportDirection(t *testing.T) {
	root := repoRoot(t)
	fset := token.NewFileSet()
	for pkg, files := range packages(t, root) {
		rule, ok := owner(pkg)
		if !ok {
			t.Errorf("package %s is not listed in archtest's allowed table", pkg)
			continue
		}
		for _, file := range files {
			f, err := parser.ParseFile(fset, file, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				dep, ok := strings.CutPrefix(path, module)
				if !ok {
					continue
				}
				if depRule, _ := owner(dep); depRule == rule {
					continue // within the same package tree
				}
				if !slices.Contains(allowed[rule], dep) {
					rel, _ := filepath.Rel(root, file)
					t.Errorf("%s imports %s, which %s may not import", rel, path, rule)
				}
			}
		}
	}
}

func TestEveryPackageHasADocComment(t *testing.T) {
	root := repoRoot(t)
	fset := token.NewFileSet()
	var missing []string
	for pkg, files := range packages(t, root) {
		documented := false
		for _, file := range files {
			f, err := parser.ParseFile(fset, file, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name+" ") ||
				f.Doc != nil && f.Name.Name == "main" && strings.HasPrefix(f.Doc.Text(), "Command ") {
				documented = true
			}
		}
		if !documented {
			missing = append(missing, pkg)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("packages without a doc comment (\"// Package x ...\"): %v", missing)
	}
}
