package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"ecode/bench/internal/benchsrv"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ownDatabase makes a database of the run's own on the PostgreSQL server
// at base (so that pg_stat_database counts E-Code's transactions only) and
// returns its URL, a reader of its statistics and drop.
func ownDatabase(ctx context.Context, base string) (string, *pgStats, func(), error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, nil, err
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "capacitybench_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		return "", nil, nil, fmt.Errorf("create the run's database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		admin.Close()
		return "", nil, nil, err
	}
	u.Path = "/" + name
	own, err := sql.Open("pgx", u.String())
	if err != nil {
		admin.Close()
		return "", nil, nil, err
	}
	own.SetMaxOpenConns(1)
	drop := func() {
		own.Close()
		admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`)
		admin.Close()
	}
	return u.String(), &pgStats{admin: admin, own: own, name: name}, drop, nil
}

// startRedis starts a Redis server of the run's own on a free port.
func startRedis(ctx context.Context) (string, func(), error) {
	port, err := benchsrv.FreePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server (or pass -redis-url): %w", err)
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	addr := "127.0.0.1:" + port
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err = redisCalls(addr); err == nil {
			return addr, stop, nil
		}
	}
	stop()
	return "", nil, fmt.Errorf("redis-server did not answer: %w", err)
}

// bareSample is the anchor: n copies of the app run bare on the host.
type bareSample struct {
	n         int
	pss, anon int64
	cpu       time.Duration
	secs      float64
}

// measureBare starts n copies of the app bare (same Node, same program),
// waits until each answers, settles, and measures them over idle.
func measureBare(ctx context.Context, dir string, n int, settle, idle time.Duration) (bareSample, error) {
	dir = filepath.Join(dir, "bare")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return bareSample{}, err
	}
	for name, body := range map[string]string{"index.js": app, "package.json": `{"type":"module"}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return bareSample{}, err
		}
	}
	var cmds []*exec.Cmd
	defer func() {
		for _, c := range cmds {
			c.Process.Kill()
			c.Wait()
		}
	}()
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for range n {
		port, err := benchsrv.FreePort()
		if err != nil {
			return bareSample{}, err
		}
		cmd := exec.CommandContext(ctx, "node", "index.js")
		cmd.Dir, cmd.Env = dir, []string{"PATH=/usr/local/bin:/usr/bin:/bin", "PORT=" + port}
		if err := cmd.Start(); err != nil {
			return bareSample{}, err
		}
		cmds = append(cmds, cmd)
		if err := waitUp(ctx, hc, "http://127.0.0.1:"+port); err != nil {
			return bareSample{}, err
		}
	}
	time.Sleep(settle)
	cpu := func() (d time.Duration) {
		for _, p := range benchsrv.Procs() {
			for _, c := range cmds {
				if p.PID == c.Process.Pid {
					d += p.CPU
				}
			}
		}
		return d
	}
	c0, t0 := cpu(), time.Now()
	time.Sleep(idle)
	s := bareSample{n: n, cpu: cpu() - c0, secs: time.Since(t0).Seconds()}
	for _, c := range cmds {
		pid := strconv.Itoa(c.Process.Pid)
		s.pss += benchsrv.ProcKB(pid, "smaps_rollup", "Pss")
		s.anon += benchsrv.ProcKB(pid, "status", "RssAnon")
	}
	return s, nil
}

func waitUp(ctx context.Context, hc *http.Client, u string) error {
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
		var res *http.Response
		if res, err = hc.Do(req); err == nil {
			res.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("the bare app at %s never answered: %w", u, err)
}

// printAnchor compares n sandboxed projects (s, measured with E-Code's
// increments over base) with n bare copies of the app.
func printAnchor(n int, base, s sample, bare bareSample) {
	per := float64(n)
	sbxPSS, sbxAnon := float64(s.sandboxPSS)/per, float64(s.dev.anon)/per
	ecodeMem := float64(s.rssAnon-base.rssAnon) / per
	bPSS, bAnon := float64(bare.pss)/per, float64(bare.anon)/per
	sbxCPU := cpuPerSec(s.dev.cpu, s.secs) / per
	ecodeCPU := (cpuPerSec(s.ecodeCPU, s.secs) - cpuPerSec(base.ecodeCPU, base.secs)) / per
	bCPU := cpuPerSec(bare.cpu, bare.secs) / per
	fmt.Printf("\nanchor: the same app bare on the host, %d copies (per app; sandboxed = the %d-project step)\n", n, n)
	fmt.Printf("%-34s %12s %12s %10s\n", "", "bare", "sandboxed", "bare ÷ sbx")
	fmt.Printf("%-34s %12.1f %12.1f %10s\n", "proportional resident MiB (Pss)", bPSS/mib, sbxPSS/mib, ratio(bPSS, sbxPSS))
	fmt.Printf("%-34s %12.1f %12.1f %10s\n", "anonymous MiB (RssAnon / cgroup)", bAnon/mib, sbxAnon/mib, ratio(bAnon, sbxAnon))
	fmt.Printf("%-34s %12.1f %12.1f %10s\n", "  + E-Code's own growth, MiB", bAnon/mib, (sbxAnon+ecodeMem)/mib, ratio(bAnon, sbxAnon+ecodeMem))
	fmt.Printf("%-34s %12.2f %12.2f %10s\n", "idle CPU ‰ of a core (app/sandbox)", bCPU, sbxCPU, ratio(bCPU, sbxCPU))
	fmt.Printf("%-34s %12.2f %12.2f %10s\n", "  + E-Code's own, ‰", bCPU, sbxCPU+ecodeCPU, ratio(bCPU, sbxCPU+ecodeCPU))
}

// publish creates a project with the app and publishes it as a server
// deployment, waiting until its release is live.
func publish(ctx context.Context, us *users, i int) error {
	c, err := us.get(ctx, &us.deps, i)
	if err != nil {
		return err
	}
	p, err := c.CreateProject(ctx, fmt.Sprintf("deployed %d", i+1), "node")
	if err != nil {
		return err
	}
	for name, body := range map[string]string{"index.js": app, ".ecode.toml": runConfig} {
		if err := c.WriteFile(ctx, p.ID, name, []byte(body)); err != nil {
			return err
		}
	}
	var pub struct {
		Release struct{ ID string } `json:"release"`
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/publish", strings.NewReader(`{"kind":"server"}`), "application/json", &pub); err != nil {
		return err
	}
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var d struct {
			Releases []struct{ ID, Status, Reason string }
		}
		if err := c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment", nil, "", &d); err != nil {
			return err
		}
		for _, r := range d.Releases {
			if r.ID == pub.Release.ID && r.Status == "live" {
				return nil
			}
			if r.ID == pub.Release.ID && r.Status == "failed" {
				return fmt.Errorf("release failed: %s", r.Reason)
			}
		}
	}
	return errors.New("the release never went live")
}

// printDeployments prints what m deployments added to the node (after ÷
// before, the last projects step) per deployment.
func printDeployments(m int, before, after sample, bare bareSample) {
	per := float64(m)
	rate := func(x int64, secs float64) float64 { return float64(x) / secs }
	fmt.Printf("\ndeployments: %d server deployments published and idle, beside the projects (per deployment; %d instance sandboxes)\n", m, after.inst.n)
	fmt.Printf("  instance memory (cgroup): %.1f MiB, of it anonymous %.1f MiB; Pss of its processes %.1f MiB; bare app %.1f MiB Pss (bare ÷ instance %s)\n",
		float64(after.inst.mem)/mib/per, float64(after.inst.anon)/mib/per, float64(after.sandboxPSS-before.sandboxPSS)/mib/per,
		float64(bare.pss)/mib/float64(bare.n), ratio(float64(bare.pss)/float64(bare.n), float64(after.sandboxPSS-before.sandboxPSS)/per))
	fmt.Printf("  E-Code's own growth: %.2f MiB anonymous\n", float64(after.rssAnon-before.rssAnon)/mib/per)
	fmt.Printf("  idle CPU: instance %.2f ‰, E-Code %.2f ‰ (bare app %.2f ‰)\n", cpuPerSec(after.inst.cpu, after.secs)/per,
		(cpuPerSec(after.ecodeCPU, after.secs)-cpuPerSec(before.ecodeCPU, before.secs))/per, cpuPerSec(bare.cpu, bare.secs)/float64(bare.n))
	fmt.Printf("  store: %.3f commits/s, %.3f rows/s; redis %.3f commands/s\n",
		(rate(after.commits, after.secs)-rate(before.commits, before.secs))/per,
		(rate(sum(after.rows), after.secs)-rate(sum(before.rows), before.secs))/per,
		(rate(sum(after.redis), after.secs)-rate(sum(before.redis), before.secs))/per)
}
