// Command filebench measures file reads and writes through the E-Code API
// (authentication, authorization, confinement, atomic writes) beside a bare
// net/http file server on the same files in the same run, and prints ratios.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"

	"ecode/bench/internal/benchsrv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "filebench:", err)
		os.Exit(1)
	}
}

type target struct {
	name  string
	read  func(ctx context.Context, name string) error
	write func(ctx context.Context, name string, data []byte) error
}

func run() error {
	n := flag.Int("n", 2000, "requests per case")
	small := flag.Int("small", 4<<10, "small file size in bytes")
	large := flag.Int("large", 1<<20, "large file size in bytes")
	conc := flag.Int("c", 8, "concurrent clients in the parallel cases")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run here")
	only := flag.String("only", "", "run only the cases whose name contains this (say \"read small\")")
	side := flag.String("side", "", "measure only this side, ecode or bare (to count one side's system calls under strace -c)")
	cacheTTL := flag.Duration("auth-cache-ttl", 15*time.Second, "the server's --auth-cache-ttl (0: every request reads the session and membership from the database)")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "filebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	ecode, projectDir, stop, err := startECode(ctx, dir, *cacheTTL)
	if err != nil {
		return err
	}
	defer stop()
	bare, stopBare, err := startBare(projectDir)
	if err != nil {
		return err
	}
	defer stopBare()

	smallData, largeData := bytes.Repeat([]byte("a"), *small), bytes.Repeat([]byte("b"), *large)
	for i := range 64 {
		if err := ecode.write(ctx, fmt.Sprintf("s/%d.txt", i), smallData); err != nil {
			return err
		}
	}
	for i := range 4 {
		if err := ecode.write(ctx, fmt.Sprintf("l/%d.bin", i), largeData); err != nil {
			return err
		}
	}

	fmt.Printf("filebench: %d requests per case, small=%d B, large=%d B, parallel c=%d\n\n", *n, *small, *large, *conc)
	fmt.Printf("%-22s %12s %12s %10s %10s %10s %10s %9s %9s\n", "case", "ecode req/s", "bare req/s",
		"ecode p50", "bare p50", "ecode p99", "bare p99", "req/s ×", "p99 ×")
	cases := []struct {
		name  string
		c, n  int
		bytes int
		op    func(t target, i int) func(context.Context) error
	}{
		{"read small", 1, *n, *small, func(t target, i int) func(context.Context) error {
			return func(ctx context.Context) error { return t.read(ctx, fmt.Sprintf("s/%d.txt", i%64)) }
		}},
		{"read small parallel", *conc, *n, *small, func(t target, i int) func(context.Context) error {
			return func(ctx context.Context) error { return t.read(ctx, fmt.Sprintf("s/%d.txt", i%64)) }
		}},
		{"write small", 1, *n, *small, func(t target, i int) func(context.Context) error {
			return func(ctx context.Context) error { return t.write(ctx, fmt.Sprintf("w/%d.txt", i%64), smallData) }
		}},
		{"write small parallel", *conc, *n, *small, func(t target, i int) func(context.Context) error {
			return func(ctx context.Context) error { return t.write(ctx, fmt.Sprintf("w/%d.txt", i%64), smallData) }
		}},
		{"read large", 1, max(*n/20, 20), *large, func(t target, i int) func(context.Context) error {
			return func(ctx context.Context) error { return t.read(ctx, fmt.Sprintf("l/%d.bin", i%4)) }
		}},
		{"write large", 1, max(*n/20, 20), *large, func(t target, i int) func(context.Context) error {
			return func(ctx context.Context) error { return t.write(ctx, fmt.Sprintf("wl/%d.bin", i%4), largeData) }
		}},
	}
	for _, c := range cases {
		if !strings.Contains(c.name, *only) {
			continue
		}
		var e, b result
		if *side != "bare" {
			if e, err = measure(ctx, c.c, c.n, func(i int) func(context.Context) error { return c.op(ecode, i) }); err != nil {
				return fmt.Errorf("%s on ecode: %w", c.name, err)
			}
		}
		if *side != "ecode" {
			if b, err = measure(ctx, c.c, c.n, func(i int) func(context.Context) error { return c.op(bare, i) }); err != nil {
				return fmt.Errorf("%s on bare: %w", c.name, err)
			}
		}
		fmt.Printf("%-22s %12.0f %12.0f %10s %10s %10s %10s %9.2f %9.2f\n", c.name, e.rps, b.rps,
			e.p50.Round(time.Microsecond), b.p50.Round(time.Microsecond), e.p99.Round(time.Microsecond), b.p99.Round(time.Microsecond),
			e.rps/b.rps, float64(e.p99)/float64(b.p99))
		if c.bytes >= 1<<20 {
			fmt.Printf("%-22s %9.1f MB/s %9.1f MB/s\n", "", e.rps*float64(c.bytes)/1e6, b.rps*float64(c.bytes)/1e6)
		}
	}
	fmt.Println("\nreq/s × is ecode/bare (higher is better); p99 × is ecode/bare (lower is better).")
	return nil
}

type result struct {
	rps      float64
	p50, p99 time.Duration
}

// measure runs n operations over c workers and returns throughput and latency percentiles.
func measure(ctx context.Context, c, n int, op func(i int) func(context.Context) error) (result, error) {
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	start := time.Now()
	for range c {
		wg.Go(func() {
			for i := range next {
				t := time.Now()
				err := op(i)(ctx)
				lat[i] = time.Since(t)
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	total := time.Since(start)
	if firstErr != nil {
		return result{}, firstErr
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{rps: float64(n) / total.Seconds(), p50: lat[n/2], p99: lat[n*99/100]}, nil
}

func startECode(ctx context.Context, dir string, authCacheTTL time.Duration) (target, string, func(), error) {
	srv, err := benchsrv.Start(ctx, "filebench", "--data-dir", filepath.Join(dir, "data"),
		"--max-file-bytes", "67108864", "--auth-cache-ttl", authCacheTTL.String())
	if err != nil {
		return target{}, "", nil, err
	}
	stop := srv.Stop
	c, err := srv.SignUp(ctx, &http.Transport{MaxIdleConnsPerHost: 64})
	if err != nil {
		stop()
		return target{}, "", nil, err
	}
	p, err := c.CreateProject(ctx, "bench", "blank")
	if err != nil {
		stop()
		return target{}, "", nil, err
	}
	t := target{
		name: "ecode",
		read: func(ctx context.Context, name string) error {
			// Discard the body as the bare client does.
			resp, err := c.Raw(ctx, "GET", "/api/projects/"+p.ID+"/files/"+name, nil, "")
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return err
		},
		write: func(ctx context.Context, name string, data []byte) error { return c.WriteFile(ctx, p.ID, name, data) },
	}
	return t, filepath.Join(dir, "data", "projects", p.ID, "files"), stop, nil
}

// startBare serves dir with nothing but net/http: FileServer for GET; for
// PUT the same durability E-Code gives (a temporary file, fsync, rename), so
// the ratio shows E-Code's overhead, not the price of not losing data.
func startBare(dir string) (target, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return target{}, nil, err
	}
	files := http.FileServer(http.Dir(dir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			files.ServeHTTP(w, r)
			return
		}
		p := filepath.Join(dir, filepath.FromSlash(filepath.Clean("/"+r.URL.Path)))
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.Copy(f, r.Body)
		f.Sync()
		f.Close()
		if err := os.Rename(f.Name(), p); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	base := "http://" + ln.Addr().String() + "/"
	do := func(ctx context.Context, method, name string, body io.Reader) error {
		req, _ := http.NewRequestWithContext(ctx, method, base+name, body)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("bare %s %s: %s", method, name, resp.Status)
		}
		return nil
	}
	t := target{
		name: "bare",
		read: func(ctx context.Context, name string) error { return do(ctx, "GET", name, nil) },
		write: func(ctx context.Context, name string, data []byte) error {
			return do(ctx, "PUT", name, bytes.NewReader(data))
		},
	}
	return t, func() { srv.Close() }, nil
}
