package remote

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecode/internal/sandbox"
	"ecode/internal/sandbox/sandboxtest"
)

// userUID is the unprivileged uid the agent runs commands as in these
// tests (the pod's --run-as).
const userUID = 1000

// With ServerOptions.UID the agent runs as root and every command as the
// user's uid, so user code cannot read the agent's token: not the token
// file (root's, mode 0400, as the pod mounts it), not the agent's
// environment or memory through /proc; and the command has no
// capabilities and no_new_privs. Exec, terminals and the workspace's
// files still work for that uid.
func TestRunAsKeepsTheTokenFromUserCode(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run the agent's uid switch as root")
		}
		t.Skip("the agent's uid switch needs root")
	}
	tok := newToken()
	dir, err := os.MkdirTemp("", "ecode-token-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // like the Secret's mount: anyone may enter, the file is root's alone
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	// The agent process holds the token in its environment too, so that
	// reading /proc/<agent>/environ would show it.
	a := sandboxtest.StartAgentAs(t, userUID, "ECODE_SANDBOX_TOKEN="+tok)
	a.Token(tok)
	w := dialT(t, a.Addr, tok)

	res := sandboxtest.Sh(t, w, "id -u; id -g; id -G; grep -E '^(CapEff|CapPrm|NoNewPrivs):' /proc/self/status")
	if want := fmt.Sprintf("%[1]d\n%[1]d\n%[1]d\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n", userUID); string(res.Stdout) != want {
		t.Fatalf("the command's identity:\n%s%s\nwant\n%s", res.Stdout, res.Stderr, want)
	}
	for _, f := range []string{tokenFile, fmt.Sprintf("/proc/%d/environ", a.Pid), fmt.Sprintf("/proc/%d/mem", a.Pid)} {
		res := sandboxtest.Sh(t, w, "cat "+f)
		if res.ExitCode == 0 || strings.Contains(string(res.Stdout), tok) || !strings.Contains(string(res.Stderr), "Permission denied") {
			t.Errorf("cat %s as the user: exit %d, stdout %q, stderr %q; want permission denied", f, res.ExitCode, res.Stdout, res.Stderr)
		}
	}
	// The same reads as root do work: the denials above are the uid switch's.
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", a.Pid)); err != nil || !strings.Contains(string(b), tok) {
		t.Fatalf("the agent's environ as root: %v", err)
	}

	res = sandboxtest.Sh(t, w, "mkdir -p src && echo hello > src/f && cat src/f && stat -c %u src/f")
	if want := fmt.Sprintf("hello\n%d\n", userUID); string(res.Stdout) != want {
		t.Fatalf("files as the user: %q %q, want %q", res.Stdout, res.Stderr, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := w.StartPTY(ctx, sandbox.Cmd{Args: []string{"sh", "-c", "id -u; tty"}}, 24, 80)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out, _ := io.ReadAll(p)
	if r, err := p.Wait(); err != nil || r.ExitCode != 0 || !strings.HasPrefix(string(out), fmt.Sprintf("%d\r\n/dev/pts/", userUID)) {
		t.Fatalf("a terminal as the user: %q %+v %v", out, r, err)
	}
}
