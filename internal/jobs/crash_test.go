package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ecode/internal/jobs"
	"ecode/internal/store"
	"ecode/internal/testutil/testdb"
)

type slowArgs struct{}

func (slowArgs) Kind() string { return "slow" }

// TestJobChild is the process the crash test kills: it works the queue of
// the store named in ECODE_TEST_JOBS_CHILD; its slow job prints RUNNING and
// waits for ever.
func TestJobChild(t *testing.T) {
	url := os.Getenv("ECODE_TEST_JOBS_CHILD")
	if url == "" {
		t.Skip("only run as a child process of TestKilledJobIsRetried")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := jobs.New(ctx, jobs.Options{Store: st, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	jobs.Handle(c, func(ctx context.Context, _ slowArgs, attempt int) error {
		fmt.Printf("RUNNING %d\n", attempt)
		select {}
	})
	c.Run(ctx)
}

// TestKilledJobIsRetried: a job whose process is killed (SIGKILL) while it
// runs is retried when the queue runs again, once the job is past the time
// a job may run (shortened here).
func TestKilledJobIsRetried(t *testing.T) {
	for _, engine := range testdb.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			url := filepath.Join(t.TempDir(), "jobs.db")
			if engine == store.Postgres {
				url = testdb.PostgresURL(t)
			}
			ctx := context.Background()
			st, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			enq := newQueue(t, st, nil) // on real time, like the child
			jobs.Handle(enq.Client, func(context.Context, slowArgs, int) error { return nil })
			if _, err := enq.Enqueue(ctx, slowArgs{}, nil); err != nil {
				t.Fatal(err)
			}
			runChild(t, url)
			// A job running longer than RescueAfter belongs to a dead
			// process: River's rescuer (on real time) makes it retryable.
			q := newQueue(t, st, nil, func(o *jobs.Options) { o.Timeout, o.RescueAfter = 50*time.Millisecond, 100*time.Millisecond })
			attempts := make(chan int, 4)
			jobs.Handle(q.Client, func(ctx context.Context, _ slowArgs, attempt int) error {
				attempts <- attempt
				return nil
			})
			q.run(t)
			if a := waitFor(t, attempts); a != 2 {
				t.Fatalf("retried as attempt %d, want 2", a)
			}
		})
	}
}

// runChild starts TestJobChild on url, waits until its job runs, and
// kills it with SIGKILL.
func runChild(t *testing.T, url string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestJobChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ECODE_TEST_JOBS_CHILD="+url)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	running := false
	for sc := bufio.NewScanner(out); !running && sc.Scan(); {
		running = strings.HasPrefix(sc.Text(), "RUNNING 1")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	go io.Copy(io.Discard, out)
	cmd.Wait()
	if !running {
		t.Fatal("the child ended before it ran the job")
	}
}
