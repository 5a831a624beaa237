// Command coldstartbench measures an autoscale deployment's cold start on
// a real E-Code server (real sandboxes): the time of the first request to
// an app scaled to zero, which the router holds while a production sandbox
// starts and the app listens. In the same run it measures the anchor: the
// same Node app started bare on the host, from the spawn to its first
// answer. It prints p50/p90 of both and their ratio.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"ecode/bench/internal/benchsrv"
	"ecode/internal/client"
)

const nodeApp = `import http from "node:http";
http.createServer((req, res) => res.end("awake")).listen(Number(process.env.PORT ?? 3000), "127.0.0.1");
`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "coldstartbench:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 10, "cold starts measured on each side")
	flag.Parse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "coldstartbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o711)
	e, err := startECode(ctx, dir)
	if err != nil {
		return err
	}
	defer e.stop()
	fmt.Printf("coldstartbench: %d cold starts per side (idle timeout 1s)\n\n", *n)
	wake, err := e.coldStarts(ctx, *n)
	if err != nil {
		return fmt.Errorf("ecode: %w", err)
	}
	bare, err := bareStarts(ctx, filepath.Join(dir, "bare"), *n)
	if err != nil {
		return fmt.Errorf("bare node: %w", err)
	}
	ms := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	fmt.Printf("%-36s %10s %10s\n", "case", "p50", "p90")
	fmt.Printf("%-36s %10s %10s\n", "ecode autoscale wake (first request)", ms(pct(wake, 50)), ms(pct(wake, 90)))
	fmt.Printf("%-36s %10s %10s\n", "bare node start (spawn → answer)", ms(pct(bare, 50)), ms(pct(bare, 90)))
	fmt.Printf("\nwake ÷ bare start: p50 %.2f×, p90 %.2f× (lower is better); added p50 %s\n",
		float64(pct(wake, 50))/float64(pct(bare, 50)), float64(pct(wake, 90))/float64(pct(bare, 90)), ms(pct(wake, 50)-pct(bare, 50)))
	return nil
}

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

type ecode struct {
	c    *client.Client
	apps *http.Client
	stop func()
}

func startECode(ctx context.Context, dir string) (*ecode, error) {
	srv, err := benchsrv.Start(ctx, "coldstartbench", "--data-dir", filepath.Join(dir, "data"), "--deploy-idle-timeout", "1s")
	if err != nil {
		return nil, err
	}
	c, err := srv.SignUp(ctx, nil)
	if err != nil {
		srv.Stop()
		return nil, err
	}
	e := &ecode{c: c, stop: srv.Stop}
	e.apps = &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: srv.Dial}}
	return e, nil
}

type state struct {
	Status   string `json:"status"`
	Asleep   bool   `json:"asleep"`
	Releases []struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"releases"`
}

func (e *ecode) state(ctx context.Context, projectID string) (state, error) {
	var s state
	err := e.c.Do(ctx, "GET", "/api/projects/"+projectID+"/deployment", nil, "", &s)
	return s, err
}

// waitFor polls the deployment until ok (3 minutes at most).
func (e *ecode) waitFor(ctx context.Context, projectID string, ok func(state) (bool, error)) error {
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s, err := e.state(ctx, projectID)
		if err != nil {
			return err
		}
		if done, err := ok(s); done || err != nil {
			return err
		}
	}
	return errors.New("timed out")
}

// coldStarts publishes the app as autoscale, then n times waits until it
// is scaled to zero and times the first request.
func (e *ecode) coldStarts(ctx context.Context, n int) ([]time.Duration, error) {
	p, err := e.c.CreateProject(ctx, "Cold", "node")
	if err != nil {
		return nil, err
	}
	if err := e.c.WriteFile(ctx, p.ID, "index.js", []byte(nodeApp)); err != nil {
		return nil, err
	}
	var pub struct{ URL string }
	if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/publish", strings.NewReader(`{"kind":"autoscale"}`), "application/json", &pub); err != nil {
		return nil, err
	}
	err = e.waitFor(ctx, p.ID, func(s state) (bool, error) {
		if len(s.Releases) > 0 && s.Releases[0].Status == "failed" {
			return false, errors.New("publish failed: " + s.Releases[0].Reason)
		}
		return s.Status == "live", nil
	})
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for range n {
		if err := e.waitFor(ctx, p.ID, func(s state) (bool, error) { return s.Asleep, nil }); err != nil {
			return nil, fmt.Errorf("never scaled to zero: %w", err)
		}
		t := time.Now()
		if err := fetch(ctx, e.apps, pub.URL); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t))
	}
	return out, nil
}

// bareStarts starts the app bare n times and times spawn → first answer.
func bareStarts(ctx context.Context, dir string, n int) ([]time.Duration, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(nodeApp), 0o644); err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var out []time.Duration
	for range n {
		port, err := benchsrv.FreePort()
		if err != nil {
			return nil, err
		}
		t := time.Now()
		cmd := exec.CommandContext(ctx, "node", "index.js")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "PORT="+port)
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		var ferr error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			if ferr = fetch(ctx, hc, "http://127.0.0.1:"+port); ferr == nil {
				break
			}
		}
		took := time.Since(t)
		cmd.Process.Kill()
		cmd.Wait()
		if ferr != nil {
			return nil, ferr
		}
		out = append(out, took)
	}
	return out, nil
}

func fetch(ctx context.Context, hc *http.Client, url string) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != 200 || string(b) != "awake" {
		return fmt.Errorf("GET %s: %d %.120q", url, res.StatusCode, b)
	}
	return nil
}
