//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	localRunner(t)
}

func TestExecBasics(t *testing.T) {
	t.Parallel()
	w := newWS(t, Limits{MemoryBytes: 256 << 20, MaxProcs: 128, CPU: 1})
	os.Setenv("ECODE_HOST_ONLY_SECRET", "leak")
	res := execOK(t, w, "sh", "-c", `echo hi; id -u; pwd; env; cat hello.py; echo out > new.txt`)
	out := string(res.Stdout)
	if !strings.HasPrefix(out, "hi\n"+strconv.Itoa(w.uid)+"\n/workspace\n") {
		t.Fatalf("unexpected output %q", out)
	}
	if strings.Contains(out, "ECODE_HOST_ONLY_SECRET") {
		t.Fatal("host environment leaked into the sandbox")
	}
	if !strings.Contains(out, "hello from project") {
		t.Fatal("project file not visible at /workspace")
	}
	fi, err := os.Stat(filepath.Join(w.dir, "new.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != w.uid {
		t.Fatalf("file written in the sandbox owned by %d, want %d", st.Uid, w.uid)
	}
	res = sh(t, w, "echo err >&2; exit 3", 10*time.Second)
	if res.ExitCode != 3 || string(res.Stderr) != "err\n" || res.Reason != "" {
		t.Fatalf("got exit %d stderr %q reason %q", res.ExitCode, res.Stderr, res.Reason)
	}
	res = sh(t, w, "sleep 10", 200*time.Millisecond)
	if res.Reason != ReasonTimeout || res.Signal != "killed" {
		t.Fatalf("timeout: got %+v", res)
	}
	before := w.LastActivity()
	os.Mkdir(filepath.Join(w.dir, "sub"), 0o755)
	os.Chown(filepath.Join(w.dir, "sub"), w.uid, w.uid)
	res, err = w.Exec(context.Background(), Cmd{Args: []string{"sh", "-c", "pwd; echo $FOO; cat"}, Env: []string{"FOO=bar"}, Dir: "sub", Stdin: strings.NewReader("from stdin")})
	if err != nil || string(res.Stdout) != "/workspace/sub\nbar\nfrom stdin" {
		t.Fatalf("env/dir/stdin: %q %v", res.Stdout, err)
	}
	if !w.LastActivity().After(before) {
		t.Fatal("LastActivity not updated by Exec")
	}
	if _, err := w.Exec(context.Background(), Cmd{Args: []string{"no-such-command"}}); err == nil {
		t.Fatal("missing command: want error")
	}
}
