package api_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A terminal's socket and a run output stream that node A forwards to the
// project's owner B end when B's host pauses (its connections stay open
// and silent; B misses its heartbeats on A's clock): the socket closes
// with 4012, so the terminal tab reconnects where the project goes, and
// the event stream breaks off, so the browser reconnects it.
func TestClusterStreamsEndWhenTheOwnerPauses(t *testing.T) {
	n := clusterNodes(t, "", "a", "b")
	a, b := n[0], n[1]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := a.User(t, "admin")
	p, err := admin.CreateProject(ctx, "paused", "blank")
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, ctx, on(b, admin), p.ID, "true") // node B owns the project
	if got := ownerOf(t, a, p.ID); got != "b" {
		t.Fatalf("owner %s, want b", got)
	}

	var term struct{ ID string }
	if err := admin.Do(ctx, "POST", "/api/projects/"+p.ID+"/terminals", strings.NewReader(`{"rows":24,"cols":80}`), "application/json", &term); err != nil {
		t.Fatal(err)
	}
	tok, err := admin.CreateToken(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.URL, "http")+"/api/projects/"+p.ID+"/terminals/"+term.ID+"/ws?access_token="+tok.Token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.Write(ctx, websocket.MessageBinary, []byte("echo hi-$((40+2))\n"))
	readUntil(t, ctx, conn, "hi-42")

	output, err := admin.Raw(ctx, "GET", "/api/projects/"+p.ID+"/run/output", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer output.Body.Close()
	events := bufio.NewReader(output.Body)
	if line, err := events.ReadString('\n'); output.StatusCode != http.StatusOK || line != "event: state\n" {
		t.Fatalf("run output through A: %d %q %v", output.StatusCode, line, err)
	}

	b.Pause()
	a.Clock.Advance(2*a.Cluster.TTL()/3 + time.Second) // B missed two heartbeats
	paused := time.Now()
	bounded, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	for {
		_, data, err := conn.Read(bounded)
		if err == nil {
			continue // output already on its way
		}
		if bounded.Err() != nil {
			t.Fatalf("terminal socket still open 30 s after its node paused (output %q)", data)
		}
		if code := websocket.CloseStatus(err); code != 4012 {
			t.Fatalf("the terminal socket ended with %v (code %d), want 4012", err, code)
		}
		t.Logf("the terminal socket closed with 4012 %v after its node paused", time.Since(paused))
		break
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, events)
		ended <- err
	}()
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("the run output stream ended as if the node had ended it")
		}
		t.Logf("the run output stream broke off %v after its node paused: %v", time.Since(paused), err)
	case <-bounded.Done():
		t.Fatal("run output stream still open 30 s after its node paused")
	}
}
