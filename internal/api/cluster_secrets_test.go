package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A secret changed through a node that does not run the project restarts
// the app on the node that does (a signed call between the nodes).
func TestClusterSecretChangeRestartsAppOnOwner(t *testing.T) {
	n := clusterNodes(t, "", "a", "b")
	a, b := n[0], n[1]
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	admin := a.User(t, "admin")
	p, err := admin.CreateProject(ctx, "secret-app", "python")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteFile(ctx, p.ID, "main.py", []byte(clusterApp)); err != nil {
		t.Fatal(err)
	}
	if err := on(b, admin).Do(ctx, "POST", "/api/projects/"+p.ID+"/run", nil, "", nil); err != nil { // B runs the project
		t.Fatal(err)
	}
	first := waitRun(t, b, admin, p.ID, func(s runState) bool { return s.Listening || s.State == "exited" })
	if !first.Listening || ownerOf(t, a, p.ID) != "b" {
		t.Fatalf("app on B: %+v, owner %s", first, ownerOf(t, a, p.ID))
	}

	// The secret is set through A.
	if err := admin.Do(ctx, "PUT", "/api/projects/"+p.ID+"/secrets/API_KEY", strings.NewReader(`{"value":"s3cret"}`), "application/json", nil); err != nil {
		t.Fatal(err)
	}
	again := waitRun(t, b, admin, p.ID, func(s runState) bool { return s.RunID != first.RunID && (s.Listening || s.State == "exited") })
	if !again.Listening {
		t.Fatalf("app after the secret change: %+v", again)
	}
	if a.Runner.Active() != 0 {
		t.Errorf("A runs %d sandboxes; the project stays on B", a.Runner.Active())
	}

	// The call between nodes is refused unsigned.
	req, _ := http.NewRequestWithContext(ctx, "POST", b.InternalURL+"/internal/projects/"+p.ID+"/secrets-changed", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned node call: %d, want 401", resp.StatusCode)
	}
	// On the public listener it does not exist, signed or not.
	for _, signed := range []bool{false, true} {
		req, _ = http.NewRequestWithContext(ctx, "POST", b.URL+"/internal/projects/"+p.ID+"/secrets-changed", nil)
		req.Host = "localhost"
		if signed {
			a.Cluster.Sign(req)
		}
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("node call on the public listener (signed %v): %d, want 404", signed, resp.StatusCode)
		}
	}
}
