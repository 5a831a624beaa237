// Command obsbench measures what observability costs: the file API (small
// reads and writes) and live-collaboration updates on two E-Code servers in
// one process, one with tracing exported over OTLP/HTTP to a collector
// (an in-process receiver that decodes every export) and /metrics scraped
// every second, the other with tracing off and no scraper. Rounds
// alternate which server goes first; it prints medians and ratios.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"ecode/bench/internal/benchsrv"
	"ecode/internal/client"
	"ecode/internal/yjs"
	"ecode/internal/yjs/protocol"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "obsbench:", err)
		os.Exit(1)
	}
}

// server is one E-Code server and a project on it.
type server struct {
	name    string
	c       *client.Client
	project string
	addr    string
	token   string
	stop    func()
}

func run() error {
	n := flag.Int("n", 1000, "requests (or updates) per case and round")
	rounds := flag.Int("rounds", 5, "rounds; each alternates which server goes first")
	conc := flag.Int("c", 8, "concurrent clients in the parallel case")
	sample := flag.String("sample", "1", "the traced server's --otlp-sample")
	decode := flag.Bool("decode", true, "the collector decodes each export (false: it only reads the body, as if the collector ran elsewhere)")
	flag.Parse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "obsbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var spans atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !*decode {
			spans.Add(-1) // exports, not spans
			w.Header().Set("Content-Type", "application/x-protobuf")
			return
		}
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				spans.Add(int64(len(ss.Spans)))
			}
		}
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	defer collector.Close()

	on, err := start(ctx, "on", filepath.Join(dir, "on"), "--otlp-endpoint", collector.URL, "--otlp-sample", *sample, "--metrics-token", "scrape")
	if err != nil {
		return err
	}
	defer on.stop()
	off, err := start(ctx, "off", filepath.Join(dir, "off"))
	if err != nil {
		return err
	}
	defer off.stop()
	scrapes := scrapeEverySecond(ctx, on.addr)

	small := bytes.Repeat([]byte("a"), 4<<10)
	for _, s := range []*server{on, off} {
		for i := range 64 {
			if err := s.c.WriteFile(ctx, s.project, fmt.Sprintf("s/%d.txt", i), small); err != nil {
				return err
			}
		}
		if err := s.c.WriteFile(ctx, s.project, "doc.txt", []byte("start\n")); err != nil {
			return err
		}
	}
	cases := []struct {
		name string
		c    int
		run  func(ctx context.Context, s *server, c, n int) (result, error)
	}{
		{"file read 4 KiB", 1, files(func(ctx context.Context, s *server, i int) error { return s.read(ctx, fmt.Sprintf("s/%d.txt", i%64)) })},
		{"file write 4 KiB", 1, files(func(ctx context.Context, s *server, i int) error {
			return s.c.WriteFile(ctx, s.project, fmt.Sprintf("w/%d.txt", i%64), small)
		})},
		{"file read parallel", *conc, files(func(ctx context.Context, s *server, i int) error { return s.read(ctx, fmt.Sprintf("s/%d.txt", i%64)) })},
		{"collab update", 1, collabUpdates},
	}
	fmt.Printf("obsbench: %d operations per case, %d rounds; on = traces (sampled %s) over OTLP/HTTP to an in-process collector + /metrics scraped every 1 s\n\n", *n, *rounds, *sample)
	fmt.Printf("%-20s %10s %10s %8s %10s %10s %8s %10s %10s %8s\n", "case", "on op/s", "off op/s", "op/s ×",
		"on p50", "off p50", "p50 ×", "on p99", "off p99", "p99 ×")
	for _, cs := range cases {
		var ons, offs []result
		for r := range *rounds {
			order := []*server{on, off}
			if r%2 == 1 {
				order = []*server{off, on}
			}
			for _, s := range order {
				res, err := cs.run(ctx, s, cs.c, *n)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", cs.name, s.name, err)
				}
				if s == on {
					ons = append(ons, res)
				} else {
					offs = append(offs, res)
				}
			}
		}
		a, b := median(ons), median(offs)
		fmt.Printf("%-20s %10.0f %10.0f %8.3f %10s %10s %8.3f %10s %10s %8.3f\n", cs.name, a.ops, b.ops, a.ops/b.ops,
			a.p50.Round(time.Microsecond), b.p50.Round(time.Microsecond), float64(a.p50)/float64(b.p50),
			a.p99.Round(time.Microsecond), b.p99.Round(time.Microsecond), float64(a.p99)/float64(b.p99))
	}
	on.stop() // flushes the last spans to the collector
	fmt.Printf("\nop/s × is on/off (1.00 = no cost; 0.95 = 5%% fewer operations); p50/p99 × is on/off (lower is better).\n")
	if *decode {
		fmt.Printf("the collector received %d spans; /metrics was scraped %d times.\n", spans.Load(), scrapes.Load())
	} else {
		fmt.Printf("the collector received %d exports (not decoded); /metrics was scraped %d times.\n", -spans.Load(), scrapes.Load())
	}
	return nil
}

type result struct {
	ops      float64
	p50, p99 time.Duration
}

// median takes each figure's median over the rounds.
func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	return result{ops: pick(func(r result) float64 { return r.ops }),
		p50: time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99: time.Duration(pick(func(r result) float64 { return float64(r.p99) }))}
}

func start(ctx context.Context, name, dir string, args ...string) (*server, error) {
	srv, err := benchsrv.Start(ctx, "obsbench", append([]string{"--data-dir", dir, "--sandbox", "none"}, args...)...)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	s := &server{name: name, addr: srv.Addr, stop: func() { once.Do(srv.Stop) }}
	if s.c, err = srv.SignUp(ctx, &http.Transport{MaxIdleConnsPerHost: 64}); err != nil {
		s.stop()
		return nil, err
	}
	p, err := s.c.CreateProject(ctx, "bench", "blank")
	if err != nil {
		s.stop()
		return nil, err
	}
	tok, err := s.c.CreateToken(ctx, "collab")
	if err != nil {
		s.stop()
		return nil, err
	}
	s.project, s.token = p.ID, tok.Token
	return s, nil
}

func (s *server) read(ctx context.Context, name string) error {
	resp, err := s.c.Raw(ctx, "GET", "/api/projects/"+s.project+"/files/"+name, nil, "")
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err
}

// scrapeEverySecond reads addr's /metrics every second until ctx ends.
func scrapeEverySecond(ctx context.Context, addr string) *atomic.Int64 {
	var n atomic.Int64
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/metrics", nil)
			req.Header.Set("Authorization", "Bearer scrape")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n.Add(1)
			}
		}
	}()
	return &n
}

// files runs n operations over c workers.
func files(op func(ctx context.Context, s *server, i int) error) func(ctx context.Context, s *server, c, n int) (result, error) {
	return func(ctx context.Context, s *server, c, n int) (result, error) {
		lat := make([]time.Duration, n)
		next := make(chan int, n)
		for i := range n {
			next <- i
		}
		close(next)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs error
		t0 := time.Now()
		for range c {
			wg.Go(func() {
				for i := range next {
					t := time.Now()
					err := op(ctx, s, i)
					lat[i] = time.Since(t)
					if err != nil {
						mu.Lock()
						errs = errors.Join(errs, err)
						mu.Unlock()
						return
					}
				}
			})
		}
		wg.Wait()
		return summarize(lat, time.Since(t0)), errs
	}
}

// collabUpdates sends n one-character edits (at most 900: a connection's
// burst allowance is 1000 messages, then 300/s) over one y-websocket
// connection, each after the previous one's echo (which the server sends
// once the update is in its log).
func collabUpdates(ctx context.Context, s *server, _, n int) (result, error) {
	n = min(n, 900)
	url := "ws" + s.c.BaseURL[len("http"):] + "/api/projects/" + s.project + "/collab/doc.txt?access_token=" + s.token
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return result{}, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(16 << 20)
	doc, id := yjs.NewDoc(), uint64(rand.Uint32())
	lat := make([]time.Duration, n)
	t0 := time.Now()
	for i := range n {
		u, err := doc.InsertText("content", 0, "x", id)
		if err != nil {
			return result{}, err
		}
		t := time.Now()
		if err := conn.Write(ctx, websocket.MessageBinary, protocol.EncodeUpdate(u)); err != nil {
			return result{}, err
		}
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return result{}, err
			}
			if m, err := protocol.Decode(b); err == nil && m.Type == protocol.MessageSync && m.SyncType == protocol.SyncUpdate && len(m.Payload) > 2 {
				break
			}
		}
		lat[i] = time.Since(t)
	}
	res := summarize(lat, time.Since(t0))
	conn.Close(websocket.StatusNormalClosure, "")
	return res, nil
}

func summarize(lat []time.Duration, total time.Duration) result {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	n := len(lat)
	return result{ops: float64(n) / total.Seconds(), p50: lat[n/2], p99: lat[n*99/100]}
}
