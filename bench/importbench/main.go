// Command importbench measures imports on a real E-Code server: a Git
// repository of 5,000 files imported from a loopback `git http-backend`
// server, beside `git clone --depth 1` of the same repository from the same
// server in the same run (the ratio is the import's whole cost: fetch,
// checks, detection, secrets scan, project creation); and the conversion
// of a generated 2,000-layer Figma document, beside decoding the same JSON
// into generic values.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ecode/bench/internal/benchsrv"
	"ecode/internal/client"
	"ecode/internal/figma"
	"ecode/internal/figma/figmatest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "importbench:", err)
		os.Exit(1)
	}
}

func run() error {
	files := flag.Int("files", 5000, "files in the Git repository")
	runs := flag.Int("runs", 3, "runs of each Git case (alternating which goes first); medians are printed")
	nodes := flag.Int("nodes", 2000, "layers in the generated Figma document")
	flag.Parse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "importbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	repoURL, stopGit, err := gitServer(dir, *files)
	if err != nil {
		return fmt.Errorf("git server: %w", err)
	}
	defer stopGit()
	c, stop, err := startECode(ctx, dir)
	if err != nil {
		return err
	}
	defer stop()

	fmt.Printf("importbench: a %d-file repository from a loopback git http-backend, %d runs; a %d-layer Figma document\n\n", *files, *runs, *nodes)
	var imp, clone []time.Duration
	for i := range *runs {
		order := []string{"import", "clone"}
		if i%2 == 1 {
			order = []string{"clone", "import"}
		}
		for _, what := range order {
			if what == "import" {
				d, err := importGit(ctx, c, repoURL)
				if err != nil {
					return fmt.Errorf("import: %w", err)
				}
				imp = append(imp, d)
			} else {
				d, err := gitClone(ctx, repoURL, filepath.Join(dir, fmt.Sprintf("clone-%d", i)))
				if err != nil {
					return fmt.Errorf("clone: %w", err)
				}
				clone = append(clone, d)
			}
		}
	}
	mi, mc := median(imp), median(clone)
	fmt.Printf("%-50s %10s %10s %8s\n", "case", "ecode", "anchor", "×")
	fmt.Printf("%-50s %10s %10s %8.2f\n", fmt.Sprintf("git import of %d files (vs git clone --depth 1)", *files), ms(mi), ms(mc), float64(mi)/float64(mc))

	conv, decode, n, err := benchFigma(ctx, *nodes)
	if err != nil {
		return fmt.Errorf("figma: %w", err)
	}
	fmt.Printf("%-50s %10s %10s %8.2f\n", fmt.Sprintf("figma parse+convert, %d layers (vs JSON decode)", n), ms(conv), ms(decode), float64(conv)/float64(decode))
	fmt.Printf("\n× is ecode/anchor (lower is better). Figma: %.1f µs per layer.\n", float64(conv.Microseconds())/float64(n))
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// gitServer makes a repository of n files (a Node app: package.json and
// modules in 50 folders), and serves its bare clone with git http-backend.
func gitServer(dir string, n int) (string, func(), error) {
	work := filepath.Join(dir, "work")
	for i := range n - 1 {
		p := filepath.Join(work, "src", fmt.Sprintf("part%02d", i%50), fmt.Sprintf("module%05d.js", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", nil, err
		}
		body := fmt.Sprintf("// module %d\nexport function f%d(x) {\n  return x * %d + %q.length\n}\n", i, i, i, strings.Repeat("abc", i%40))
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return "", nil, err
		}
	}
	pkg := `{"name":"bench-repo","private":true,"scripts":{"start":"node src/part00/module00000.js"}}`
	if err := os.WriteFile(filepath.Join(work, "package.json"), []byte(pkg), 0o644); err != nil {
		return "", nil, err
	}
	git := func(cwd string, args ...string) error {
		cmd := exec.Command("git", args...)
		cmd.Dir = cwd
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@example.test", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@example.test")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "bench"}} {
		if err := git(work, args...); err != nil {
			return "", nil, err
		}
	}
	root := filepath.Join(dir, "served")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, err
	}
	if err := git(dir, "clone", "-q", "--bare", work, filepath.Join(root, "repo.git")); err != nil {
		return "", nil, err
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: &cgi.Handler{Path: gitPath, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/repo.git", func() { srv.Close() }, nil
}

func startECode(ctx context.Context, dir string) (*client.Client, func(), error) {
	srv, err := benchsrv.Start(ctx, "importbench", "--data-dir", filepath.Join(dir, "data"),
		"--import-allow-hosts", "127.0.0.1", "--sandbox", "none")
	if err != nil {
		return nil, nil, err
	}
	c, err := srv.SignUp(ctx, nil)
	if err != nil {
		srv.Stop()
		return nil, nil, err
	}
	return c, srv.Stop, nil
}

// importGit imports the repository and waits, on the import's event
// stream, for its end.
func importGit(ctx context.Context, c *client.Client, repo string) (time.Duration, error) {
	start := time.Now()
	var created struct{ ID string }
	if err := c.Do(ctx, "POST", "/api/imports", strings.NewReader(`{"source":"git","url":"`+repo+`"}`), "application/json", &created); err != nil {
		return 0, err
	}
	res, err := c.Raw(ctx, "GET", "/api/imports/"+created.ID+"/events", nil, "")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var x struct {
			Status string
			Error  string
			Report struct{ Files int }
		}
		if err := json.Unmarshal([]byte(data), &x); err != nil {
			return 0, err
		}
		switch x.Status {
		case "succeeded":
			if x.Report.Files < 1000 {
				return 0, fmt.Errorf("imported only %d files", x.Report.Files)
			}
			return time.Since(start), nil
		case "failed", "cancelled":
			return 0, errors.New(x.Error)
		}
	}
	return 0, errors.New("the event stream ended early")
}

func gitClone(ctx context.Context, repo, dst string) (time.Duration, error) {
	start := time.Now()
	out, err := exec.CommandContext(ctx, "git", "clone", "-q", "--depth", "1", repo, dst).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	return time.Since(start), nil
}

// benchFigma converts a generated document (median of 5) and decodes the
// same JSON into generic values (the anchor).
func benchFigma(ctx context.Context, nodes int) (conv, decode time.Duration, n int, err error) {
	gen := figmatest.Generated(nodes)
	n = countLayers(gen.Document) - 1 // not the document node
	doc, err := json.Marshal(gen)
	if err != nil {
		return 0, 0, 0, err
	}
	var cs, ds []time.Duration
	for range 5 {
		start := time.Now()
		f, err := figma.Parse(bytes.NewReader(doc), 0)
		if err != nil {
			return 0, 0, 0, err
		}
		if _, err := figma.Convert(ctx, f, figma.Options{}); err != nil {
			return 0, 0, 0, err
		}
		cs = append(cs, time.Since(start))
		start = time.Now()
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			return 0, 0, 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return median(cs), median(ds), n, nil
}

func countLayers(n *figma.Node) int {
	c := 1
	for _, ch := range n.Children {
		c += countLayers(ch)
	}
	return c
}
