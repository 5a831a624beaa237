// Command capacitybench measures what an active project and a published
// deployment cost one node while idle, to size a cluster: it starts a real
// E-Code node (real bubblewrap sandboxes, PostgreSQL database and Redis of
// the run's own) and, for N projects each running a small Node HTTP
// server, reads the memory the sandboxes' cgroups hold, E-Code's own
// anonymous resident memory, the CPU time of E-Code and the sandboxes over
// an idle interval, and the transactions and rows PostgreSQL committed and
// the commands Redis served meanwhile; then the same for M published
// server deployments. In the same run it starts the same app bare on the
// host (the anchor) and prints bare ÷ sandboxed: what E-Code adds to each
// app. It needs root.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"ecode/bench/internal/benchsrv"
	"ecode/internal/client"
)

// app is the project's program: the smallest Node HTTP server, as the
// node template's.
const app = `import http from "node:http";
http.createServer((req, res) => res.end("up")).listen(Number(process.env.PORT ?? 3000), "127.0.0.1");
`

// runConfig runs it without npm (the template's `npm start` adds an npm
// process of ~50 MB to each run).
const runConfig = "run = \"node index.js\"\nport = 3000\n"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "capacitybench:", err)
		os.Exit(1)
	}
}

func run() error {
	counts := flag.String("projects", "1,10,30", "active project counts to measure, ascending (projects are added to reach each)")
	deployments := flag.Int("deployments", 10, "published server deployments measured after the projects (0: none)")
	idle := flag.Duration("idle", time.Minute, "idle interval measured at each step (a whole minute holds one of the minutely usage metering ticks)")
	settle := flag.Duration("settle", 5*time.Second, "wait after starting apps before the interval (start-up work ends)")
	warmup := flag.Duration("warmup", 40*time.Second, "wait after the node starts before measuring it alone (the job queue's start-up work ends)")
	pg := flag.String("database-url", os.Getenv("ECODE_TEST_POSTGRES_URL"), "PostgreSQL server (a database is made for the run and dropped after)")
	redisURL := flag.String("redis-url", "", "Redis server of the run's own (default: start redis-server on a free port; its command counts are read)")
	flag.Parse()
	var ns []int
	for _, f := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || len(ns) > 0 && n <= ns[len(ns)-1] {
			return fmt.Errorf("-projects %q: want ascending positive counts", *counts)
		}
		ns = append(ns, n)
	}
	if *pg == "" {
		return errors.New("--database-url (or ECODE_TEST_POSTGRES_URL) is required: the store's writes are counted in PostgreSQL")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "capacitybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o711) // sandboxes run as their own uids

	dbURL, stats, dropDB, err := ownDatabase(ctx, *pg)
	if err != nil {
		return err
	}
	defer dropDB()
	redisAddr := strings.TrimSuffix(strings.TrimPrefix(*redisURL, "redis://"), "/0")
	if *redisURL == "" {
		var stop func()
		if redisAddr, stop, err = startRedis(ctx); err != nil {
			return err
		}
		defer stop()
	}
	// A clustered node (PostgreSQL, Redis, internal listener): it renews
	// its node and project leases as every node of a cluster does.
	srv, err := benchsrv.StartNode(ctx, "capacitybench", "cap-1", filepath.Join(dir, "data"), dbURL, "redis://"+redisAddr+"/0",
		"--project-disk", "0", "--max-execs-per-user", "100000", "--max-execs-per-project", "64",
		"--billing-default-plan", "pro") // 20 runs and 50 deployments per user: users are added as needed
	if err != nil {
		return err
	}
	defer srv.Stop()
	b := &bench{us: &users{url: srv.URL()}, m: &meter{pg: stats, redis: redisAddr, idle: *idle}, dir: dir,
		counts: ns, deployments: *deployments, settle: *settle}
	fmt.Printf("capacitybench: idle interval %s after %s settling (node alone: %s); load average %s\n\n", *idle, *settle, *warmup, loadavg())
	time.Sleep(*warmup)
	if err := b.steps(ctx); err != nil {
		return err
	}
	fmt.Printf("\nload average at the end: %s\n", loadavg())
	return nil
}

// bench is a run's node, its users and what to measure.
type bench struct {
	us          *users
	m           *meter
	dir         string
	counts      []int
	deployments int
	settle      time.Duration
}

// steps measures the node alone, with each count of projects, the bare
// apps, and the deployments beside the projects, printing as it goes.
func (b *bench) steps(ctx context.Context) error {
	base, err := b.m.measure(ctx)
	if err != nil {
		return err
	}
	printHeader()
	printRow("0 (node alone)", 0, base, base)
	started := 0
	var last sample
	for _, n := range b.counts {
		for ; started < n; started++ {
			if err := startProject(ctx, b.us, started); err != nil {
				return fmt.Errorf("project %d: %w", started+1, err)
			}
		}
		time.Sleep(b.settle)
		if last, err = b.m.measure(ctx); err != nil {
			return err
		}
		printRow(strconv.Itoa(n)+" projects", n, base, last)
	}
	bare, err := measureBare(ctx, b.dir, started, b.settle, b.m.idle)
	if err != nil {
		return fmt.Errorf("bare apps: %w", err)
	}
	printAnchor(started, base, last, bare)
	if b.deployments == 0 {
		printWrites("writes while idle, node alone", base)
		printWrites(fmt.Sprintf("writes while idle, %d projects", started), last)
		return nil
	}
	for i := range b.deployments {
		if err := publish(ctx, b.us, i); err != nil {
			return fmt.Errorf("deployment %d: %w", i+1, err)
		}
	}
	time.Sleep(b.settle)
	dep, err := b.m.measure(ctx)
	if err != nil {
		return err
	}
	printDeployments(b.deployments, last, dep, bare)
	printWrites("writes while idle, node alone", base)
	printWrites(fmt.Sprintf("writes while idle, %d projects and %d deployments", started, b.deployments), dep)
	return nil
}

// sample is what one idle interval measured.
type sample struct {
	secs       float64
	ecodeCPU   time.Duration // this process: E-Code (and the bench's idle client)
	rssAnon    int64         // this process, after returning free memory to the system
	dev, inst  group         // project sandboxes, deployment instances
	sandboxPSS int64         // proportional resident memory of every sandboxed process
	commits    int64
	rows       map[string]int64
	redis      map[string]int64
}

// group sums a kind of sandbox cgroups.
type group struct {
	n         int
	mem, anon int64
	cpu       time.Duration // over the interval
}

type meter struct {
	pg    *pgStats
	redis string
	idle  time.Duration
}

func (m *meter) measure(ctx context.Context) (sample, error) {
	cg0 := sandboxCgroups(sandboxProcs())
	cpu0 := selfCPU()
	pg0, err := m.pg.snapshot(ctx)
	if err != nil {
		return sample{}, err
	}
	r0, err := redisCalls(m.redis)
	if err != nil {
		return sample{}, err
	}
	t0 := time.Now()
	time.Sleep(m.idle)
	pg1, err := m.pg.snapshot(ctx)
	if err != nil {
		return sample{}, err
	}
	r1, err := redisCalls(m.redis)
	if err != nil {
		return sample{}, err
	}
	procs := sandboxProcs()
	cg1 := sandboxCgroups(procs)
	s := sample{secs: time.Since(t0).Seconds(), ecodeCPU: selfCPU() - cpu0, sandboxPSS: pssOf(procs),
		commits: pg1.commits - pg0.commits - 1, // less the bench's own reading of the tables
		rows:    diff(pg1.rows, pg0.rows), redis: diff(r1, r0)}
	for dir, c := range cg1 {
		g := &s.dev
		if strings.HasPrefix(c.name, "i-") {
			g = &s.inst
		}
		g.n++
		g.mem += c.mem
		g.anon += c.anon
		if c0, ok := cg0[dir]; ok {
			g.cpu += c.cpu - c0.cpu
		}
	}
	debug.FreeOSMemory()
	s.rssAnon = benchsrv.ProcKB("self", "status", "RssAnon")
	return s, nil
}

func diff(a, b map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range a {
		if d := v - b[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func sum(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

const mib = 1 << 20

// ratio is a ÷ b, or "-" when b is 0.
func ratio(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// cpuPerSec is CPU time per second of wall time, in milliseconds (‰ of a core).
func cpuPerSec(d time.Duration, secs float64) float64 {
	return float64(d) / float64(time.Millisecond) / secs
}

func printHeader() {
	fmt.Printf("%-16s %4s | %14s %14s %12s | %14s %14s | %10s %10s %10s\n", "step", "sbx",
		"sandbox MiB/p", "anon MiB/p", "PSS MiB/p", "ecode ΔMiB/p", "idle CPU ‰/p", "commits/s", "rows/s", "redis/s")
	fmt.Printf("%-16s %4s | %14s %14s %12s | %14s %14s | %10s %10s %10s\n", "", "",
		"(cgroup)", "(cgroup)", "(processes)", "(RssAnon)", "(ecode+sbx)", "(per p)", "(per p)", "(per p)")
}

// printRow prints step s with n projects; per project figures are
// increments over the node alone (base) divided by n.
func printRow(step string, n int, base, s sample) {
	if n == 0 {
		fmt.Printf("%-16s %4d | %14s %14s %12s | %14.1f %14.2f | %10.2f %10.2f %10.2f\n", step, s.dev.n, "-", "-", "-",
			float64(s.rssAnon)/mib, cpuPerSec(s.ecodeCPU+s.dev.cpu, s.secs),
			float64(s.commits)/s.secs, float64(sum(s.rows))/s.secs, float64(sum(s.redis))/s.secs)
		fmt.Println("  (node alone: ecode column is its whole RssAnon, CPU and rates are per node)")
		return
	}
	per := func(x, b float64) float64 { return (x - b) / float64(n) }
	cpu := per(cpuPerSec(s.ecodeCPU+s.dev.cpu, s.secs), cpuPerSec(base.ecodeCPU+base.dev.cpu, base.secs))
	fmt.Printf("%-16s %4d | %14.1f %14.1f %12.1f | %14.2f %14.2f | %10.3f %10.3f %10.3f\n", step, s.dev.n,
		float64(s.dev.mem)/mib/float64(n), float64(s.dev.anon)/mib/float64(n), float64(s.sandboxPSS)/mib/float64(n),
		per(float64(s.rssAnon), float64(base.rssAnon))/mib, cpu,
		per(float64(s.commits)/s.secs, float64(base.commits)/base.secs), per(float64(sum(s.rows))/s.secs, float64(sum(base.rows))/base.secs),
		per(float64(sum(s.redis))/s.secs, float64(sum(base.redis))/base.secs))
	fmt.Printf("  of the idle CPU per project: ecode %.2f ‰, its sandbox %.2f ‰\n",
		per(cpuPerSec(s.ecodeCPU, s.secs), cpuPerSec(base.ecodeCPU, base.secs)), cpuPerSec(s.dev.cpu, s.secs)/float64(n))
}

// printWrites lists the tables written and the Redis commands served in s.
func printWrites(title string, s sample) {
	fmt.Printf("\n%s (%.0f s): %d transactions committed\n", title, s.secs, s.commits)
	for _, m := range []struct {
		what string
		v    map[string]int64
	}{{"rows written, by table", s.rows}, {"redis commands", s.redis}} {
		keys := make([]string, 0, len(m.v))
		for k := range m.v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return int(m.v[b] - m.v[a]) })
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %.2f/s", k, float64(m.v[k])/s.secs))
		}
		if len(parts) == 0 {
			parts = []string{"none"}
		}
		fmt.Printf("  %s: %s\n", m.what, strings.Join(parts, ", "))
	}
}

// users are the bench's users, one per perUser projects (the plan's
// limit on running projects) and per perUser deployments.
type users struct {
	url  string
	runs []*client.Client
	deps []*client.Client
}

const perUser = 20

// get returns the user of the i-th project or deployment, signing one up
// when needed.
func (u *users) get(ctx context.Context, list *[]*client.Client, i int) (*client.Client, error) {
	for len(*list) <= i/perUser {
		c := client.New(u.url)
		n := len(u.runs) + len(u.deps) + 1
		if _, err := c.Signup(ctx, fmt.Sprintf("bench%d@example.test", n), "benchmark password", fmt.Sprintf("Bench %d", n)); err != nil {
			return nil, err
		}
		*list = append(*list, c)
	}
	return (*list)[i/perUser], nil
}

// startProject creates a project running the app and waits until it listens.
func startProject(ctx context.Context, us *users, i int) error {
	c, err := us.get(ctx, &us.runs, i)
	if err != nil {
		return err
	}
	p, err := c.CreateProject(ctx, fmt.Sprintf("capacity %d", i+1), "node")
	if err != nil {
		return err
	}
	for name, body := range map[string]string{"index.js": app, ".ecode.toml": runConfig} {
		if err := c.WriteFile(ctx, p.ID, name, []byte(body)); err != nil {
			return err
		}
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/run", nil, "", nil); err != nil {
		return err
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var st struct {
			State     string `json:"state"`
			Reason    string `json:"reason"`
			Listening bool   `json:"listening"`
		}
		if err := c.Do(ctx, "GET", "/api/projects/"+p.ID+"/run", nil, "", &st); err != nil {
			return err
		}
		if st.State == "running" && st.Listening {
			return nil
		}
		if st.State == "exited" || st.State == "stopped" {
			return fmt.Errorf("run %s: %s", st.State, st.Reason)
		}
	}
	return errors.New("the app never listened")
}
