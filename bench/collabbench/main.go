// Command collabbench measures live collaboration: N real y-websocket
// clients (Node, bench/collabbench/node) type into one document at a given
// rate, against E-Code (the whole server: auth, store, file writes) and
// against the reference Node server (@y/websocket-server, in memory, no
// persistence) in the same run, and prints edit-to-peer latency and the
// ratios.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"ecode/internal/app"
	"ecode/internal/client"
	"ecode/internal/config"
)

type result struct {
	Clients    int     `json:"clients"`
	Edits      int     `json:"edits"`
	Deliveries int     `json:"deliveries"`
	Seconds    float64 `json:"seconds"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	Converged  bool    `json:"converged"`
	Length     int     `json:"length"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "collabbench:", err)
		os.Exit(1)
	}
}

func run() error {
	clients := flag.String("clients", "2,8,32", "comma-separated client counts")
	edits := flag.Int("edits", 100, "edits per client")
	rate := flag.Int("rate", 20, "edits per second per client")
	flag.Parse()

	_, file, _, _ := runtime.Caller(0)
	nodeDir := filepath.Join(filepath.Dir(file), "node")
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "@y", "websocket-server")); err != nil {
		return fmt.Errorf("run `npm ci` in %s first (make deps)", nodeDir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "collabbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := config.Load("collabbench", []string{"--addr", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data")},
		func(string) string { return "" })
	if err != nil {
		return err
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		return err
	}
	defer func() { cancel(); <-done }()
	c := client.New("http://" + addr)
	if _, err := c.Signup(ctx, "bench@example.test", "benchmark password", "Bench"); err != nil {
		return err
	}
	tok, err := c.CreateToken(ctx, "collabbench")
	if err != nil {
		return err
	}
	p, err := c.CreateProject(ctx, "bench", "blank")
	if err != nil {
		return err
	}

	fmt.Printf("collabbench: %d edits per client at %d/s, one room; latency = edit to every other client\n\n", *edits, *rate)
	fmt.Printf("%-8s %-10s %10s %9s %9s %9s %9s %10s\n", "clients", "server", "edits/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "converged")
	for i, s := range strings.Split(*clients, ",") {
		n := strings.TrimSpace(s)
		room := fmt.Sprintf("bench-%d.txt", i)
		if err := c.WriteFile(ctx, p.ID, room, nil); err != nil {
			return err
		}
		args := []string{"--clients", n, "--edits", fmt.Sprint(*edits), "--rate", fmt.Sprint(*rate), "--room", room}
		e, err := bench(ctx, nodeDir, append(args, "--url", "ws://"+addr+"/api/projects/"+p.ID+"/collab", "--token", tok.Token))
		if err != nil {
			return fmt.Errorf("ecode, %s clients: %w", n, err)
		}
		r, err := bench(ctx, nodeDir, append(args, "--reference"))
		if err != nil {
			return fmt.Errorf("reference, %s clients: %w", n, err)
		}
		for _, x := range []struct {
			name string
			r    result
		}{{"ecode", e}, {"reference", r}} {
			fmt.Printf("%-8s %-10s %10.0f %9.1f %9.1f %9.1f %9.1f %10v\n", n, x.name, float64(x.r.Edits)/x.r.Seconds,
				x.r.P50, x.r.P90, x.r.P99, x.r.Max, x.r.Converged)
		}
		fmt.Printf("%-8s %-10s %10.2f %9.2f %9.2f %9.2f\n\n", n, "ratio", (float64(e.Edits)/e.Seconds)/(float64(r.Edits)/r.Seconds),
			e.P50/r.P50, e.P90/r.P90, e.P99/r.P99)
	}
	return nil
}

func bench(ctx context.Context, dir string, args []string) (result, error) {
	cmd := exec.CommandContext(ctx, "node", append([]string{"bench.mjs"}, args...)...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return result{}, err
	}
	var r result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return result{}, fmt.Errorf("bench output %q: %w", out.String(), err)
	}
	if !r.Converged {
		return r, fmt.Errorf("clients did not converge")
	}
	return r, nil
}
