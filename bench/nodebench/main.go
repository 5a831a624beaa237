// Command nodebench measures the cost of a second node: a one-off command
// (POST /exec of `true`) and a terminal keystroke's echo sent to a node that
// forwards them to the project's owner node over the signed internal
// channel, beside the same sent to the owner directly, in the same run, and
// prints the ratios. Two
// real servers (app.Serve) share one PostgreSQL (a schema of the run's
// own), one Redis and one data directory, as a cluster's nodes do.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"ecode/bench/internal/benchsrv"
	"ecode/internal/client"
)

// nodeFlags let the benchmark's one user run as many execs as it asks.
var nodeFlags = []string{"--project-disk", "0", "--max-execs-per-user", "64", "--max-execs-per-project", "64"}

// startNode starts a node and returns its URL.
func startNode(ctx context.Context, id, dir, dbURL, redis string, flags ...string) (string, func(), error) {
	srv, err := benchsrv.StartNode(ctx, "nodebench", id, dir, dbURL, redis, flags...)
	if err != nil {
		return "", nil, err
	}
	return srv.URL(), srv.Stop, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "nodebench:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 300, "requests per case")
	conc := flag.Int("c", 4, "concurrent clients in the parallel cases")
	runs := flag.Int("runs", 3, "runs per case, alternating which side goes first")
	pg := flag.String("database-url", os.Getenv("ECODE_TEST_POSTGRES_URL"), "PostgreSQL server (a schema is made for the run and dropped after)")
	redis := flag.String("redis-url", "redis://127.0.0.1:6379/0", "Redis server")
	flag.Parse()
	if *pg == "" {
		return errors.New("--database-url (or ECODE_TEST_POSTGRES_URL) is required: nodes share PostgreSQL")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dbURL, dropSchema, err := benchsrv.Schema(*pg, "nodebench")
	if err != nil {
		return err
	}
	defer dropSchema()
	dir, err := os.MkdirTemp("", "nodebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o711) // sandboxes run as their own uids

	owner, stopOwner, err := startNode(ctx, "owner", dir, dbURL, *redis, nodeFlags...)
	if err != nil {
		return err
	}
	defer stopOwner()
	fwd, stopFwd, err := startNode(ctx, "forwarder", dir, dbURL, *redis, nodeFlags...)
	if err != nil {
		return err
	}
	defer stopFwd()

	direct := client.New(owner)
	direct.HTTP.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	if _, err := direct.Signup(ctx, "bench@example.test", "benchmark password", "Bench"); err != nil {
		return err
	}
	p, err := direct.CreateProject(ctx, "bench", "blank")
	if err != nil {
		return err
	}
	via := &client.Client{BaseURL: fwd, HTTP: &http.Client{Jar: direct.HTTP.Jar, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	exec := func(c *client.Client) func(context.Context) error {
		return func(ctx context.Context) error {
			var r struct {
				ExitCode int `json:"exit_code"`
			}
			if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/exec", strings.NewReader(`{"command":"true"}`), "application/json", &r); err != nil {
				return err
			}
			if r.ExitCode != 0 {
				return fmt.Errorf("exit code %d", r.ExitCode)
			}
			return nil
		}
	}
	// The first exec, on the owner, gives it the project's lease (and starts the sandbox).
	if err := exec(direct)(ctx); err != nil {
		return fmt.Errorf("first exec: %w", err)
	}
	fmt.Printf("nodebench: POST /exec of `true`, %d requests per case, parallel c=%d\n\n", *n, *conc)
	fmt.Printf("%-16s %12s %12s %11s %11s %11s %11s %9s %9s\n", "case", "fwd req/s", "owner req/s",
		"fwd p50", "owner p50", "fwd p99", "owner p99", "p50 ×", "req/s ×")
	for _, c := range []struct {
		name string
		c    int
	}{{"exec", 1}, {"exec parallel", *conc}} {
		var ratios []float64
		for r := range *runs { // alternate which side goes first, against warm-up effects
			var o, f result
			first, second := &o, &f
			firstC, secondC := direct, via
			if r%2 == 1 {
				first, second, firstC, secondC = &f, &o, via, direct
			}
			if *first, err = measure(ctx, c.c, *n, exec(firstC)); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			if *second, err = measure(ctx, c.c, *n, exec(secondC)); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			ratios = append(ratios, float64(f.p50)/float64(o.p50))
			fmt.Printf("%-16s %12.0f %12.0f %11s %11s %11s %11s %9.2f %9.2f\n", c.name, f.rps, o.rps,
				f.p50.Round(time.Microsecond), o.p50.Round(time.Microsecond), f.p99.Round(time.Microsecond), o.p99.Round(time.Microsecond),
				float64(f.p50)/float64(o.p50), f.rps/o.rps)
		}
		sort.Float64s(ratios)
		fmt.Printf("%-16s median p50 × over %d runs: %.2f\n", c.name, len(ratios), ratios[len(ratios)/2])
	}
	tok, err := direct.CreateToken(ctx, "nodebench")
	if err != nil {
		return err
	}
	var ratios []float64
	for r := range *runs {
		var o, f result
		for i, side := range []string{"owner", "forwarded"} {
			if r%2 == 1 {
				side = []string{"forwarded", "owner"}[i]
			}
			base, res := owner, &o
			if side == "forwarded" {
				base, res = fwd, &f
			}
			if *res, err = terminalEcho(ctx, direct, base, p.ID, tok.Token, *n); err != nil {
				return fmt.Errorf("terminal %s: %w", side, err)
			}
		}
		ratios = append(ratios, float64(f.p50)/float64(o.p50))
		fmt.Printf("%-16s %12s %12s %11s %11s %11s %11s %9.2f\n", "terminal echo", "", "",
			f.p50.Round(time.Microsecond), o.p50.Round(time.Microsecond), f.p99.Round(time.Microsecond), o.p99.Round(time.Microsecond),
			float64(f.p50)/float64(o.p50))
	}
	sort.Float64s(ratios)
	fmt.Printf("%-16s median p50 × over %d runs: %.2f\n", "terminal echo", len(ratios), ratios[len(ratios)/2])
	fmt.Println("\np50 × is forwarded/direct latency (lower is better, 1 is free); req/s × is forwarded/direct throughput.")
	return nil
}

// terminalEcho opens a terminal (on the owner), attaches to it through
// base (the owner or the forwarding node), and times each keystroke typed
// into `cat` until its echo comes back.
func terminalEcho(ctx context.Context, c *client.Client, base, projectID, token string, n int) (result, error) {
	var term struct{ ID string }
	if err := c.Do(ctx, "POST", "/api/projects/"+projectID+"/terminals", strings.NewReader(`{}`), "application/json", &term); err != nil {
		return result{}, err
	}
	url := "ws" + strings.TrimPrefix(base, "http") + "/api/projects/" + projectID + "/terminals/" + term.ID + "/ws?access_token=" + token
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return result{}, err
	}
	defer conn.CloseNow()
	conn.Write(ctx, websocket.MessageBinary, []byte("stty -icanon; cat\n"))
	if err := readUntil(ctx, conn, "cat"); err != nil {
		return result{}, err
	}
	lat := make([]time.Duration, n)
	for i := range n {
		ch := string(rune('a' + i%26))
		t := time.Now()
		if err := conn.Write(ctx, websocket.MessageBinary, []byte(ch)); err != nil {
			return result{}, err
		}
		if err := readUntil(ctx, conn, ch); err != nil {
			return result{}, err
		}
		lat[i] = time.Since(t)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{p50: lat[n/2], p99: lat[n*99/100]}, nil
}

func readUntil(ctx context.Context, conn *websocket.Conn, want string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var got string
	for !strings.Contains(got, want) {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("waiting for %q: %w (got %q)", want, err, got)
		}
		got += string(b)
	}
	return nil
}

type result struct {
	rps      float64
	p50, p99 time.Duration
}

// measure runs n operations on c clients and returns the rate and latencies.
func measure(ctx context.Context, c, n int, op func(context.Context) error) (result, error) {
	lat := make([]time.Duration, n)
	var next int
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				t := time.Now()
				if err := op(ctx); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return result{}, firstErr
	}
	total := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return result{rps: float64(n) / total.Seconds(), p50: lat[n/2], p99: lat[n*99/100]}, nil
}
