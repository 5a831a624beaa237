// Command deploybench publishes a small Node server and a static site on a
// real E-Code server (real sandboxes) and, in the same run, measures
// requests through the deployment router against the same sandboxed
// instance hit directly, the same app run bare on the host and nginx in
// front of the bare app; the static release served by E-Code against nginx
// serving the same folder; the time from publish to live, and the
// rollback switch time.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ecode/bench/internal/benchsrv"
	"ecode/internal/client"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "deploybench:", err)
		os.Exit(1)
	}
}

// serverApp is the Node app published and run bare; /conns answers how
// many connections it accepted (the bench counts the router's dials).
const serverApp = `import http from "node:http";
const body = "<!doctype html><h1>VERSION</h1>" + "x".repeat(1024);
let conns = 0;
http.createServer((req, res) => {
  if (req.url === "/conns") {
    res.writeHead(200, { "content-type": "text/plain" });
    return res.end(String(conns));
  }
  res.writeHead(200, { "content-type": "text/html" });
  res.end(body);
}).on("connection", () => conns++).listen(Number(process.env.PORT ?? 3000), "127.0.0.1");
`

func run() error {
	n := flag.Int("n", 2000, "requests per load case")
	conc := flag.Int("c", 8, "concurrent clients in the parallel cases")
	cpu := flag.String("cpu", "1", "CPU limit of the production sandboxes, in cores (--sandbox-cpu)")
	rounds := flag.Int("rounds", 3, "rounds of the server app's cases (each loads every target; medians are printed)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (E-Code runs in this process) to this file")
	routerProfile := flag.String("routerprofile", "", "after the rounds, load the router (then the sandboxed app directly) with 4×n requests at c, writing a CPU profile of each to this file (and this file.direct)")
	flag.Parse()
	if *cpuProfile != "" && *routerProfile != "" {
		return errors.New("-cpuprofile and -routerprofile cannot be used together (one CPU profile at a time)")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "deploybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o711)
	e, err := startECode(ctx, dir, *cpu)
	if err != nil {
		return err
	}
	defer e.stop()

	fmt.Printf("deploybench: %d requests per load case, parallel c=%d, sandbox CPU %s cores\n\n", *n, *conc, *cpu)
	if err := benchServer(ctx, e, dir, *n, *conc, *rounds, *routerProfile); err != nil {
		return fmt.Errorf("server app: %w", err)
	}
	if err := benchStatic(ctx, e, dir, *n, *conc); err != nil {
		return fmt.Errorf("static site: %w", err)
	}
	fmt.Println("\nreq/s × is ecode/anchor (higher is better); added p50/p99 is ecode minus anchor.")
	return nil
}

// ecode is a running E-Code server with a signed-in client and an HTTP
// client that reaches <slug>.apps.localhost on the server's port.
type ecode struct {
	c       *client.Client
	apps    *http.Client
	dataDir string
	stop    func()
}

func startECode(ctx context.Context, dir, cpu string) (*ecode, error) {
	dataDir := filepath.Join(dir, "data")
	srv, err := benchsrv.Start(ctx, "deploybench", "--data-dir", dataDir, "--sandbox-cpu", cpu)
	if err != nil {
		return nil, err
	}
	c, err := srv.SignUp(ctx, nil)
	if err != nil {
		srv.Stop()
		return nil, err
	}
	e := &ecode{c: c, dataDir: dataDir, stop: srv.Stop}
	e.apps = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64,
		DialContext: srv.Dial}}
	return e, nil
}

type release struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// publish publishes the project and waits until the release is live; it
// returns the release, the app's URL and the time from the request to live.
func (e *ecode) publish(ctx context.Context, projectID, kind string) (release, string, time.Duration, error) {
	start := time.Now()
	var p struct {
		Release release `json:"release"`
		URL     string  `json:"url"`
	}
	body := strings.NewReader(fmt.Sprintf(`{"kind":%q}`, kind))
	if err := e.c.Do(ctx, "POST", "/api/projects/"+projectID+"/deployment/publish", body, "application/json", &p); err != nil {
		return release{}, "", 0, err
	}
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var d struct{ Releases []release }
		if err := e.c.Do(ctx, "GET", "/api/projects/"+projectID+"/deployment", nil, "", &d); err != nil {
			return release{}, "", 0, err
		}
		for _, r := range d.Releases {
			if r.ID == p.Release.ID && r.Status == "live" {
				return r, p.URL, time.Since(start), nil
			}
			if r.ID == p.Release.ID && r.Status == "failed" {
				return r, "", 0, fmt.Errorf("release failed: %s", r.Reason)
			}
		}
	}
	return release{}, "", 0, errors.New("the release never went live")
}

func (e *ecode) project(ctx context.Context, name, template string, files map[string]string) (string, error) {
	p, err := e.c.CreateProject(ctx, name, template)
	if err != nil {
		return "", err
	}
	for n, body := range files {
		if err := e.c.WriteFile(ctx, p.ID, n, []byte(body)); err != nil {
			return "", err
		}
	}
	return p.ID, nil
}

// get fetches url and checks the answer is 200 and holds want.
func get(ctx context.Context, hc *http.Client, url, want string) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	buf := bodies.Get().(*bytes.Buffer)
	defer bodies.Put(buf)
	buf.Reset()
	_, err = buf.ReadFrom(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if b := buf.Bytes(); res.StatusCode != 200 || !bytes.Contains(b, []byte(want)) {
		return fmt.Errorf("GET %s: %d %.80q", url, res.StatusCode, b)
	}
	return nil
}

// bodies are the clients' response buffers, reused: the client shares the
// process (and its garbage collector) with E-Code but not with the anchors,
// so it should allocate as little as it can.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

type loadResult struct {
	rps      float64
	p50, p99 time.Duration
	cpu      time.Duration // this process's CPU time (user and system) per request: the client's, and E-Code's when it serves
}

// processCPU is the CPU time this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// load sends n GETs of url over c workers.
func load(ctx context.Context, hc *http.Client, url, want string, n, c int) (loadResult, error) {
	for range 500 { // warm up connections, caches and the app (Node compiles hot code after a few hundred calls)
		if err := get(ctx, hc, url, want); err != nil {
			return loadResult{}, err
		}
	}
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start, cpu := time.Now(), processCPU()
	for range c {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				t := time.Now()
				if err := get(ctx, hc, url, want); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	took, cpu := time.Since(start), processCPU()-cpu
	if err, _ := failed.Load().(error); err != nil {
		return loadResult{}, err
	}
	slices.Sort(lat)
	return loadResult{rps: float64(n) / took.Seconds(), p50: lat[n/2], p99: lat[n*99/100], cpu: cpu / time.Duration(n)}, nil
}

func printHeader(anchor string) {
	fmt.Printf("%-24s %11s %11s %10s %10s %10s %10s %8s %11s %11s\n", "case", "ecode req/s", anchor+" req/s",
		"ecode p50", anchor+" p50", "ecode p99", anchor+" p99", "req/s ×", "added p50", "added p99")
}

func printRow(name string, e, a loadResult) {
	r := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
	fmt.Printf("%-24s %11.0f %11.0f %10s %10s %10s %10s %8.2f %11s %11s\n", name, e.rps, a.rps, r(e.p50), r(a.p50),
		r(e.p99), r(a.p99), e.rps/a.rps, r(e.p50-a.p50), r(e.p99-a.p99))
}

// compare loads the E-Code URL and the anchor URL, one case after the other.
func compare(ctx context.Context, name string, ecodeGet, anchorGet func(c int) (loadResult, error), conc int) error {
	for _, c := range []int{1, conc} {
		e, err := ecodeGet(c)
		if err != nil {
			return fmt.Errorf("%s through ecode: %w", name, err)
		}
		a, err := anchorGet(c)
		if err != nil {
			return fmt.Errorf("%s on the anchor: %w", name, err)
		}
		printRow(fmt.Sprintf("%s c=%d", name, c), e, a)
	}
	return nil
}
