// Command runbench measures running code through E-Code: the end-to-end
// latency of a one-off command through the exec API (request to exit code)
// beside running it bare and under plain bwrap in the same run, and the
// keystroke-to-echo latency of a terminal over its WebSocket beside a bare
// PTY. It prints ratios.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/creack/pty"

	"ecode/bench/internal/benchsrv"
	"ecode/internal/client"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "runbench:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 40, "repetitions per case")
	flag.Parse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "runbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o711)

	c, projectID, stop, err := startECode(ctx, dir)
	if err != nil {
		return err
	}
	defer stop()

	fmt.Printf("runbench: %d repetitions per case (median and p90)\n\n", *n)
	fmt.Printf("%-22s %12s %12s %12s %10s %10s\n", "command", "ecode API", "bare", "plain bwrap", "× bare", "× bwrap")
	for _, cmd := range []string{"true", "python3 -c pass"} {
		api, err := sample(*n, func() error { return execAPI(ctx, c, projectID, cmd) })
		if err != nil {
			return fmt.Errorf("%s through the API: %w", cmd, err)
		}
		bare, err := sample(*n, func() error { return bareCmd(cmd).Run() })
		if err != nil {
			return err
		}
		bw, err := sample(*n, func() error { return plainBwrap(cmd).Run() })
		if err != nil {
			return fmt.Errorf("plain bwrap: %w", err)
		}
		fmt.Printf("%-22s %12s %12s %12s %10.1f %10.1f\n", cmd, api, bare, bw,
			float64(api.p50)/float64(bare.p50), float64(api.p50)/float64(bw.p50))
	}

	term, err := terminalEcho(ctx, c, projectID, *n)
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	barePTY, err := ptyEcho(*n)
	if err != nil {
		return fmt.Errorf("bare pty: %w", err)
	}
	fmt.Printf("\n%-22s %12s %12s %10s\n", "keystroke to echo", "ecode WS", "bare PTY", "× bare")
	fmt.Printf("%-22s %12s %12s %10.1f\n", "one character", term, barePTY, float64(term.p50)/float64(barePTY.p50))
	return nil
}

type stats struct{ p50, p90 time.Duration }

func (s stats) String() string {
	return fmt.Sprintf("%s/%s", s.p50.Round(10*time.Microsecond), s.p90.Round(10*time.Microsecond))
}

func sample(n int, f func() error) (stats, error) {
	if err := f(); err != nil { // warm-up
		return stats{}, err
	}
	ds := make([]time.Duration, n)
	for i := range ds {
		t := time.Now()
		if err := f(); err != nil {
			return stats{}, err
		}
		ds[i] = time.Since(t)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return stats{ds[n/2], ds[n*9/10]}, nil
}

func execAPI(ctx context.Context, c *client.Client, id, cmd string) error {
	body, _ := json.Marshal(map[string]any{"command": cmd})
	var res struct {
		ExitCode int `json:"exit_code"`
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+id+"/exec", bytes.NewReader(body), "application/json", &res); err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("exit code %d", res.ExitCode)
	}
	return nil
}

// bareCmd runs cmd on the host with the toolchain the sandbox sees (not a
// version manager's shims earlier on this machine's PATH).
func bareCmd(cmd string) *exec.Cmd {
	c := exec.Command("/bin/sh", "-c", cmd)
	c.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	return c
}

// plainBwrap is a minimal bubblewrap sandbox with the same namespaces,
// without E-Code's cgroups, seccomp and supervisor.
func plainBwrap(cmd string) *exec.Cmd {
	c := exec.Command("bwrap", "--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
		"--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
		"--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
		"--", "/bin/sh", "-c", cmd)
	c.Env = []string{"PATH=/usr/bin:/bin"}
	return c
}

func startECode(ctx context.Context, dir string) (*client.Client, string, func(), error) {
	srv, err := benchsrv.Start(ctx, "runbench", "--data-dir", filepath.Join(dir, "data"))
	if err != nil {
		return nil, "", nil, err
	}
	c, err := srv.SignUp(ctx, nil)
	if err != nil {
		srv.Stop()
		return nil, "", nil, err
	}
	p, err := c.CreateProject(ctx, "bench", "blank")
	if err != nil {
		srv.Stop()
		return nil, "", nil, err
	}
	return c, p.ID, srv.Stop, nil
}

// terminalEcho types one character at a time into a terminal over its
// WebSocket and times until the echo comes back.
func terminalEcho(ctx context.Context, c *client.Client, id string, n int) (stats, error) {
	var term struct{ ID string }
	if err := c.Do(ctx, "POST", "/api/projects/"+id+"/terminals", strings.NewReader(`{}`), "application/json", &term); err != nil {
		return stats{}, err
	}
	tok, err := c.CreateToken(ctx, "bench")
	if err != nil {
		return stats{}, err
	}
	url := "ws" + strings.TrimPrefix(c.BaseURL, "http") + "/api/projects/" + id + "/terminals/" + term.ID + "/ws?access_token=" + tok.Token
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return stats{}, err
	}
	defer conn.CloseNow()
	// Wait for the prompt, then use cat so every keystroke is echoed once.
	conn.Write(ctx, websocket.MessageBinary, []byte("stty -icanon; cat\n"))
	if err := readUntil(ctx, conn, "cat"); err != nil {
		return stats{}, err
	}
	i := 0
	return sample(n, func() error {
		ch := string(rune('a' + i%26))
		i++
		if err := conn.Write(ctx, websocket.MessageBinary, []byte(ch)); err != nil {
			return err
		}
		return readUntil(ctx, conn, ch)
	})
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

func ptyEcho(n int) (stats, error) {
	cmd := exec.Command("/bin/sh", "-c", "stty -icanon; exec cat")
	f, err := pty.Start(cmd)
	if err != nil {
		return stats{}, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait(); f.Close() }()
	buf := make([]byte, 256)
	i := 0
	return sample(n, func() error {
		ch := byte('a' + i%26)
		i++
		if _, err := f.Write([]byte{ch}); err != nil {
			return err
		}
		for {
			k, err := f.Read(buf)
			if err != nil {
				return err
			}
			if bytes.IndexByte(buf[:k], ch) >= 0 {
				return nil
			}
		}
	})
}
