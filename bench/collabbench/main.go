// Command collabbench measures live collaboration: N real y-websocket
// clients (Node, bench/collabbench/node) type into one document at a given
// rate, against E-Code (the whole server: auth, store, file writes) and
// against the reference Node server (@y/websocket-server, in memory, no
// persistence) in the same run, and prints edit-to-peer latency and the
// ratios.
//
// Both servers are measured the same way: each runs in a process of its
// own (E-Code in this one, the reference in node/server.mjs), is started
// once and serves every run, and gets a fresh room per run; the clients
// are a third process. With -runs R each client count is measured R times,
// alternating which server goes first, and the medians are printed.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"ecode/bench/internal/benchsrv"
	"ecode/internal/client"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "collabbench:", err)
		os.Exit(1)
	}
}

func run() error {
	clients := flag.String("clients", "10,100,200", "comma-separated client counts")
	edits := flag.String("edits", "100,20,10", "edits per client: one count for every client count, or one per client count")
	rate := flag.Int("rate", 20, "edits per second per client")
	runs := flag.Int("runs", 1, "measure each client count this many times and print the medians")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of E-Code's server (this process) during its first run to this file")
	traceLen := flag.Int("trace", 100_000, "updates in the editing trace replayed beside yjs (0: skip)")
	nodes := flag.Bool("nodes", false, "instead: the clients (-clients, one count) on one node beside split over three nodes")
	pg := flag.String("database-url", os.Getenv("ECODE_TEST_POSTGRES_URL"), "with -nodes: PostgreSQL server (a schema is made for the run and dropped after)")
	redis := flag.String("redis-url", "redis://127.0.0.1:6379/0", "with -nodes: Redis server")
	window := flag.Duration("broadcast-window", 0, "E-Code's broadcast window (--collab-broadcast-window): editors' updates held this long go to each other editor as one message; 0: at once (the reference is unaffected)")
	flag.Parse()

	_, file, _, _ := runtime.Caller(0)
	nodeDir := filepath.Join(filepath.Dir(file), "node")
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "@y", "websocket-server")); err != nil {
		return fmt.Errorf("run `npm ci` in %s first (make deps)", nodeDir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if *nodes {
		n, err := strconv.Atoi(strings.TrimSpace(*clients))
		if err != nil {
			return fmt.Errorf("-nodes takes one client count: %w", err)
		}
		e, err := strconv.Atoi(strings.TrimSpace(strings.Split(*edits, ",")[0]))
		if err != nil {
			return fmt.Errorf("-edits: %w", err)
		}
		return runNodes(ctx, nodeDir, *pg, *redis, n, e, *rate, *runs)
	}
	ecode, stopEcode, err := startEcode(ctx, *window)
	if err != nil {
		return err
	}
	defer stopEcode()
	refURL, refPID, stopRef, err := startReference(ctx, nodeDir)
	if err != nil {
		return err
	}
	defer stopRef()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		ecode.profile = f
	}

	// E-Code's process does some work when idle (the job queue polls the
	// store, timers): measured once, so it can be told apart.
	c0 := cpuTime(os.Getpid())
	time.Sleep(3 * time.Second)
	idle := (cpuTime(os.Getpid()) - c0) / 3
	levels := strings.Split(*clients, ",")
	perLevel := strings.Split(*edits, ",")
	if len(perLevel) != 1 && len(perLevel) != len(levels) {
		return fmt.Errorf("-edits: %d counts for %d client counts", len(perLevel), len(levels))
	}
	fmt.Printf("collabbench: %s edits per client (for %s clients) at %d/s, one room; latency = edit to every other client", *edits, *clients, *rate)
	if *runs > 1 {
		fmt.Printf("; medians of %d runs", *runs)
	}
	if *window > 0 {
		fmt.Printf("; E-Code's broadcast window %v", *window)
	}
	fmt.Printf("\n%s; E-Code idle: %.1f ms cpu/s\n\n%-8s %-10s %10s %9s %9s %9s %9s %10s %13s %12s %8s\n", cpuNote, idle.Seconds()*1000, "clients", "server", "edits/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "converged", "server cpu ms", "cpu µs/edit", "rss MB")
	room := 0
	for li, s := range levels {
		n := strings.TrimSpace(s)
		perClient := strings.TrimSpace(perLevel[min(li, len(perLevel)-1)])
		var es, rs []result
		for i := 0; i < *runs; i++ {
			room++
			args := []string{"--clients", n, "--edits", perClient, "--rate", fmt.Sprint(*rate), "--room", fmt.Sprintf("bench-%d.txt", room)}
			order := []func() error{
				func() error {
					c0 := cpuTime(os.Getpid())
					r, err := ecode.bench(ctx, nodeDir, args)
					r.CPU = cpuTime(os.Getpid()) - c0
					es = append(es, r)
					return err
				},
				func() error {
					c0 := cpuTime(refPID)
					r, err := bench(ctx, nodeDir, append(args, "--url", refURL))
					r.CPU = cpuTime(refPID) - c0
					rs = append(rs, r)
					return err
				},
			}
			if i%2 == 1 {
				slices.Reverse(order)
			}
			for _, f := range order {
				if err := f(); err != nil {
					return fmt.Errorf("%s clients: %w", n, err)
				}
			}
		}
		e, r := median(es), median(rs)
		em, rm := rss(os.Getpid()), rss(refPID)
		for _, x := range []struct {
			name string
			r    result
			rss  int64
		}{{"ecode", e, em}, {"reference", r, rm}} {
			fmt.Printf("%-8s %-10s %10.0f %9.1f %9.1f %9.1f %9.1f %10v %13.0f %12.1f %8.1f\n", n, x.name, x.r.rate(),
				x.r.P50, x.r.P90, x.r.P99, x.r.Max, x.r.Converged, x.r.CPU.Seconds()*1000, x.r.cpuPerEdit(), float64(x.rss)/1e6)
		}
		fmt.Printf("%-8s %-10s %10.2f %9.2f %9.2f %9.2f %9s %10s %13.2f %12.2f %8.2f\n", n, "ratio", e.rate()/r.rate(), e.P50/r.P50, e.P90/r.P90, e.P99/r.P99,
			"", "", e.CPU.Seconds()/r.CPU.Seconds(), e.cpuPerEdit()/r.cpuPerEdit(), float64(em)/float64(rm))
		net := e.cpuPerEdit() - idle.Seconds()*e.Seconds*1e6/float64(e.Edits)
		fmt.Printf("%-8s E-Code less its idle work: %.1f µs/edit, ratio %.2f\n", n, net, net/r.cpuPerEdit())
		if err := printFloor(n, r.cpuPerEdit()); err != nil {
			return err
		}
	}
	// Peak resident memory of each server process over all the runs. E-Code's
	// process also holds this harness (small) and the whole app (store,
	// sandbox manager, ...); the reference is its own Node process.
	em, rm := peakRSS(os.Getpid()), peakRSS(refPID)
	fmt.Printf("server memory, peak RSS: ecode %.1f MB, reference %.1f MB, ratio %.2f\n\n", float64(em)/1e6, float64(rm)/1e6, float64(em)/float64(rm))
	if *traceLen > 0 {
		return benchTrace(ctx, nodeDir, *traceLen)
	}
	return nil
}

// ecodeServer is E-Code running in this process, with a user, a token and
// a project to bench in.
type ecodeServer struct {
	c       *client.Client
	addr    string
	token   string
	project string
	profile *os.File // CPU profile of the runs against it, when set
}

func startEcode(ctx context.Context, window time.Duration) (*ecodeServer, func(), error) {
	dir, err := os.MkdirTemp("", "collabbench-")
	if err != nil {
		return nil, nil, err
	}
	srv, err := benchsrv.Start(ctx, "collabbench", "--data-dir", filepath.Join(dir, "data"), "--collab-broadcast-window", window.String())
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	stop := func() { srv.Stop(); os.RemoveAll(dir) }
	c, err := srv.SignUp(ctx, nil)
	if err != nil {
		stop()
		return nil, nil, err
	}
	s := &ecodeServer{c: c, addr: srv.Addr}
	if err := s.setUp(ctx); err != nil {
		stop()
		return nil, nil, err
	}
	return s, stop, nil
}

func (s *ecodeServer) setUp(ctx context.Context) error {
	tok, err := s.c.CreateToken(ctx, "collabbench")
	if err != nil {
		return err
	}
	p, err := s.c.CreateProject(ctx, "bench", "blank")
	if err != nil {
		return err
	}
	s.token, s.project = tok.Token, p.ID
	return nil
}

// bench creates the run's file and runs the clients against it.
func (s *ecodeServer) bench(ctx context.Context, nodeDir string, args []string) (result, error) {
	room := args[slices.Index(args, "--room")+1]
	if err := s.c.WriteFile(ctx, s.project, room, nil); err != nil {
		return result{}, err
	}
	if s.profile != nil { // the first run only: a file holds one profile
		if err := pprof.StartCPUProfile(s.profile); err != nil {
			return result{}, err
		}
		s.profile = nil
		defer pprof.StopCPUProfile()
	}
	r, err := bench(ctx, nodeDir, append(args, "--url", "ws://"+s.addr+"/api/projects/"+s.project+"/collab", "--token", s.token))
	if err != nil {
		err = fmt.Errorf("ecode: %w", err)
	}
	return r, err
}

// startReference runs node/server.mjs and returns its URL and process id;
// stop ends it.
func startReference(ctx context.Context, nodeDir string) (string, int, func(), error) {
	cmd := exec.CommandContext(ctx, "node", "server.mjs")
	cmd.Dir = nodeDir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // closing it ends the server
	if err != nil {
		return "", 0, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop := func() { stdin.Close(); cmd.Wait() }
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return "", 0, nil, errors.New("reference server did not start")
	}
	return strings.TrimSpace(line), cmd.Process.Pid, stop, nil
}
