package kube

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"

	"ecode/internal/dbproxy"
	"ecode/internal/egress"
	"ecode/internal/sandbox"
	"ecode/internal/sandbox/sandboxtest"
)

// The egress proxy and the project's database proxy, through a real agent
// process: a process in the workspace connects to the agent's in-pod
// listeners (the same ports the bubblewrap sandbox offers), the agent
// tunnels the connection over its session to this runner, and the same
// handlers bubblewrap uses (egress.Proxy, dbproxy.Proxy) serve it.

// podLoopback is a loopback address of its own for one test's in-pod
// listeners, so that they keep the sandbox's ports (3128, 5432) while the
// agent process shares the host's network (127.0.0.1:5432 is the test
// PostgreSQL server).
func podLoopback() string {
	return fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(250), rand.IntN(256), 1+rand.IntN(250))
}

// countingListener reports each accepted connection on accepted.
type countingListener struct {
	net.Listener
	accepted chan struct{}
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		select {
		case l.accepted <- struct{}{}:
		default:
		}
	}
	return c, err
}

func TestEgressProxyThroughPod(t *testing.T) {
	allowed := sandboxtest.ServeHTTPOn(t, "127.0.0.2", "from the allowed host")
	denied := sandboxtest.ServeHTTPOn(t, "127.0.0.3", "from the denied host")
	proxy := egress.New([]string{"127.0.0.2"}, nil, slog.New(slog.DiscardHandler))
	t.Cleanup(proxy.Close)
	accepted := make(chan struct{}, 10)
	addr := net.JoinHostPort(podLoopback(), fmt.Sprint(egress.Port))
	ws := openPod(t, "egress-project", []Tunnel{{Addr: addr, Attach: func(id string, l net.Listener) {
		proxy.Attach(id, countingListener{l, accepted})
	}}})

	env := []string{"HTTP_PROXY=http://" + addr, "http_proxy=http://" + addr, "NO_PROXY=", "no_proxy="}
	curl := func(target string) string {
		res, err := ws.Exec(t.Context(), sandbox.Cmd{Args: []string{"curl", "-sS", "-w", " %{http_code}", "http://" + target + "/"}, Env: env})
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Stdout) + string(res.Stderr)
	}
	if got := curl(allowed); got != "from the allowed host 200" {
		t.Fatalf("allowed host: %q", got)
	}
	select {
	case <-accepted:
	default:
		t.Fatal("the allowed request did not come through the tunnel")
	}
	if got := curl(denied); !strings.Contains(got, "not allowed from this sandbox") || !strings.HasSuffix(got, " 403") {
		t.Fatalf("denied host: %q", got)
	}
}

func TestDatabaseProxyThroughPod(t *testing.T) {
	base := os.Getenv("ECODE_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ECODE_TEST_POSTGRES_URL is not set: CI must test the database tunnel")
		}
		t.Skip("the database tunnel needs PostgreSQL: set ECODE_TEST_POSTGRES_URL")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	role, db := u.User.Username(), strings.TrimPrefix(u.Path, "/")
	const id = "db-project"
	proxy := dbproxy.New(u.Host, func(ws string) (string, string) {
		if ws == id {
			return role, db
		}
		return "", ""
	}, nil, slog.New(slog.DiscardHandler))
	t.Cleanup(proxy.Close)
	addr := net.JoinHostPort(podLoopback(), fmt.Sprint(dbproxy.Port))
	ws := openPod(t, id, []Tunnel{{Addr: addr, Attach: proxy.Attach}})

	psql := func(user string) sandbox.Result {
		dsn := fmt.Sprintf("postgresql://%s@%s/%s?sslmode=disable", user, addr, db)
		res, err := ws.Exec(t.Context(), sandbox.Cmd{Args: []string{"psql", dsn, "-tAc", "select 40 + 2"}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := psql(role); strings.TrimSpace(string(res.Stdout)) != "42" {
		t.Fatalf("the project's database: %+v", res)
	}
	if res := psql("intruder"); res.ExitCode == 0 || !strings.Contains(string(res.Stderr), "may only connect to its project's database") {
		t.Fatalf("another role: exit %d, %s", res.ExitCode, res.Stderr)
	}
}
