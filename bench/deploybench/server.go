package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

// target is one way to reach the Node app.
type target struct {
	name, url string
	hc        *http.Client
}

// benchServer: publish times; the app through the router against the same
// sandboxed instance hit directly, the app bare on the host and nginx in
// front of the bare app; rollback.
func benchServer(ctx context.Context, e *ecode, dir string, n, conc, rounds int, profile string) error {
	pid, err := e.project(ctx, "bench server", "node", map[string]string{"index.js": strings.Replace(serverApp, "VERSION", "v1", 1)})
	if err != nil {
		return err
	}
	v1, url, pub1, err := e.publish(ctx, pid, "server")
	if err != nil {
		return err
	}
	direct, closeDirect, err := sandboxClient(ctx, 3000) // runconfig.DefaultPort: the project names none
	if err != nil {
		return fmt.Errorf("reach the sandboxed app directly: %w", err)
	}
	defer closeDirect()
	bare, stopBare, err := startBareApp(ctx, filepath.Join(dir, "bare-app"))
	if err != nil {
		return err
	}
	defer stopBare()
	proxy, stopProxy, err := startNginxProxy(filepath.Join(dir, "nginx-proxy"), bare)
	if err != nil {
		return err
	}
	defer stopProxy()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	targets := []target{{"router", url, e.apps}, {"sandbox", "http://app", direct}, {"bare", bare, hc}, {"nginx→bare", proxy, hc}}
	res, dials, err := loadRounds(ctx, targets, n, conc, rounds, func() (int, error) { return appConns(ctx, direct) })
	if err != nil {
		return err
	}
	printServer(targets, res, conc)
	fmt.Printf("connections the app accepted from the router: %d over %d rounds of %d requests at c=1 and c=%d (500 warm-up requests each)\n",
		dials, rounds, n, conc)
	if profile != "" {
		for _, p := range []struct {
			t    target
			file string
		}{{targets[0], profile}, {targets[1], profile + ".direct"}} {
			if err := profileLoad(ctx, p.t, p.file, 4*n, conc); err != nil {
				return err
			}
		}
	}

	if err := e.c.WriteFile(ctx, pid, "index.js", []byte(strings.Replace(serverApp, "VERSION", "v2", 1))); err != nil {
		return err
	}
	v2, _, pub2, err := e.publish(ctx, pid, "server")
	if err != nil {
		return err
	}
	var switches []time.Duration
	for i, r := range []release{v1, v2, v1, v2, v1} {
		want := []string{"v1", "v2"}[i%2]
		t := time.Now()
		if err := e.c.Do(ctx, "POST", "/api/projects/"+pid+"/deployment/releases/"+r.ID+"/activate", nil, "", nil); err != nil {
			return err
		}
		if err := get(ctx, e.apps, url+"/", want); err != nil { // the switch is done when activate answers
			return err
		}
		switches = append(switches, time.Since(t))
	}
	slices.Sort(switches)
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	fmt.Printf("\npublish to live (server, Node): first %s, second %s\n", ms(pub1), ms(pub2))
	fmt.Printf("rollback switch (activate → old release serving), %d switches: median %s, max %s\n",
		len(switches), ms(switches[len(switches)/2]), ms(switches[len(switches)-1]))
	return nil
}

// appConns asks the app (directly) how many connections it accepted.
func appConns(ctx context.Context, direct *http.Client) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://app/conns", nil)
	res, err := direct.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// loadRounds loads every target at c=1 and c=conc, rounds times, the
// order of the targets turning each round (the machine's load moves, and
// whoever goes first warms the caches); res[round][concurrency][target].
// dials is how many connections the app accepted while the router (the
// first target) was loaded, counted by conns.
func loadRounds(ctx context.Context, targets []target, n, conc, rounds int, conns func() (int, error)) (res [][2][]loadResult, dials int, err error) {
	for r := range rounds {
		var round [2][]loadResult
		for ci, c := range []int{1, conc} {
			round[ci] = make([]loadResult, len(targets))
			for k := range targets {
				ti := (k + r) % len(targets)
				t := targets[ti]
				before, err := conns()
				if err != nil {
					return nil, 0, err
				}
				lr, err := load(ctx, t.hc, t.url+"/", "v1", n, c)
				if err != nil {
					return nil, 0, fmt.Errorf("%s c=%d: %w", t.name, c, err)
				}
				after, err := conns()
				if err != nil {
					return nil, 0, err
				}
				if ti == 0 {
					dials += after - before
				}
				round[ci][ti] = lr
			}
		}
		res = append(res, round)
	}
	return res, dials, nil
}

// printServer prints each target's medians over the rounds, then the
// ratios of pairs of targets (median over the rounds of each round's
// ratio, with the smallest and largest).
func printServer(targets []target, res [][2][]loadResult, conc int) {
	d := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
	fmt.Printf("server app /, %d rounds (medians; CPU/req is this process's: the client, and E-Code for the router)\n%-12s %5s %9s %10s %10s %9s\n",
		len(res), "target", "c", "req/s", "p50", "p99", "CPU/req")
	for ci, c := range []int{1, conc} {
		for ti, t := range targets {
			rps, p50, p99, cpu := medians(res, ci, ti)
			fmt.Printf("%-12s %5d %9.0f %10s %10s %9s\n", t.name, c, rps, d(p50), d(p99), d(cpu))
		}
	}
	pairs := []struct {
		a, b int
		what string
	}{
		{0, 1, "the router's own cost (same sandboxed instance)"},
		{0, 2, "router and sandbox together (the issue's goal ≥ 0.8)"},
		{0, 3, "against another proxy hop in front of the bare app"},
		{1, 2, "the sandbox's own cost (namespaces, 1-CPU cgroup)"},
		{3, 2, "what an nginx hop costs on this machine"},
	}
	fmt.Printf("\n%-24s %5s %18s %11s %11s  %s\n", "ratio", "c", "req/s × (min–max)", "added p50", "added p99", "")
	for _, p := range pairs {
		for ci, c := range []int{1, conc} {
			var x, a50, a99 []float64
			for _, round := range res {
				ea, eb := round[ci][p.a], round[ci][p.b]
				x = append(x, ea.rps/eb.rps)
				a50 = append(a50, float64(ea.p50-eb.p50))
				a99 = append(a99, float64(ea.p99-eb.p99))
			}
			slices.Sort(x)
			fmt.Printf("%-24s %5d %6.2f (%.2f–%.2f) %11s %11s  %s\n", targets[p.a].name+" ÷ "+targets[p.b].name, c, median(x), x[0], x[len(x)-1],
				d(time.Duration(median(a50))), d(time.Duration(median(a99))), p.what)
		}
	}
}

func medians(res [][2][]loadResult, ci, ti int) (rps float64, p50, p99, cpu time.Duration) {
	var r, a, b, u []float64
	for _, round := range res {
		lr := round[ci][ti]
		r, a, b, u = append(r, lr.rps), append(a, float64(lr.p50)), append(b, float64(lr.p99)), append(u, float64(lr.cpu))
	}
	return median(r), time.Duration(median(a)), time.Duration(median(b)), time.Duration(median(u))
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// profileLoad writes a CPU profile of t loaded with n requests at c.
func profileLoad(ctx context.Context, t target, file string, n, c int) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	lr, err := load(ctx, t.hc, t.url+"/", "v1", n, c)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	fmt.Printf("profiled %s, %d requests at c=%d: %.0f req/s, CPU/req %s → %s\n", t.name, n, c, lr.rps, lr.cpu.Round(time.Microsecond), file)
	return nil
}
