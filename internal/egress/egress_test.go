package egress_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"

	"strings"
	"testing"
	"time"

	"ecode/internal/egress"
	"ecode/internal/sandbox"
	"ecode/internal/testutil"
)

func TestAllowed(t *testing.T) {
	p := egress.New([]string{"registry.npmjs.org", ".pythonhosted.org", "127.0.0.1"}, nil, nil)
	for host, want := range map[string]bool{
		"registry.npmjs.org": true, "REGISTRY.npmjs.org.": true, "evil.npmjs.org": false, "npmjs.org": false,
		"files.pythonhosted.org": true, "pythonhosted.org": true, "pythonhosted.org.evil.com": false,
		"127.0.0.1": true, "10.0.0.1": false, "": false,
	} {
		if got := p.Allowed(host); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestSandboxReachesOnlyAllowedHosts runs the proxy inside a real sandbox's
// network namespace. The allowed "registry" is an HTTP server on the host's
// loopback, which the sandbox cannot reach directly.
func TestSandboxReachesOnlyAllowedHosts(t *testing.T) {
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "package tarball")
	}))
	defer registry.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(registry.URL, "http://"))

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	proxy := egress.New([]string{"127.0.0.1"}, sandbox.ListenInNetns, log)
	defer proxy.Close()
	sb := sandbox.NewLocal(sandbox.Options{StateDir: testutil.TraversableTempDir(t),
		CgroupPrefix: "ecode-egress-" + port, NetworkSetup: proxy.Setup})
	defer sb.Close()
	testutil.RequireSandbox(t, sb)
	dir := testutil.TraversableTempDir(t)
	ws, err := sb.Workspace(context.Background(), "egress", sandbox.Spec{Dir: dir, UID: 1999999,
		Limits: sandbox.Limits{MemoryBytes: 256 << 20, MaxProcs: 64}})
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(url string, proxied bool) sandbox.Result {
		env := []string{}
		if proxied {
			env = egress.Env()
			env = append(env, "NO_PROXY=", "no_proxy=") // the fake registry is on 127.0.0.1
		}
		script := fmt.Sprintf("import urllib.request\ntry:\n print(urllib.request.urlopen(%q, timeout=5).read().decode())\nexcept Exception as e:\n print('ERR', e)\n", url)
		res, err := ws.Exec(context.Background(), sandbox.Cmd{Args: []string{"python3", "-c", script}, Env: env, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := fetch(registry.URL, false); strings.Contains(string(res.Stdout), "package tarball") {
		t.Fatalf("the sandbox reached the host without the proxy: %s", res.Stdout)
	}
	if res := fetch(registry.URL, true); !strings.Contains(string(res.Stdout), "package tarball") {
		t.Fatalf("allowed host through the proxy: %s %s", res.Stdout, res.Stderr)
	}
	// A host off the list is refused by the proxy (403) before any dial.
	if res := fetch("http://not-allowed.invalid/", true); !strings.Contains(string(res.Stdout), "403") {
		t.Fatalf("refused host: %s %s", res.Stdout, res.Stderr)
	}
}
