package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ecode/internal/config"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// pickyApp will not start with GREETING=bad.
const pickyApp = `import http from "node:http";
if (process.env.GREETING === "bad") { console.log("refusing to start"); process.exit(3); }
http.createServer((req, res) => res.end("greeting=" + (process.env.GREETING || "none"))).listen(Number(process.env.PORT), "127.0.0.1");
`

// TestSecretRestartFailure: a production-secret change whose restart fails
// (the new instances exit before they listen) is shown on the deployment,
// why and when, while the instances before it keep serving; the next
// restart that succeeds clears it, and so does a publish.
func TestSecretRestartFailure(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		id, pub := e.publishLive("Picky", "server", `{"kind":"server"}`, map[string]string{"index.js": pickyApp})
		setSecret := func(value string) time.Time {
			e.srv.Clock.Advance(time.Minute)
			at := e.srv.Clock.Now()
			if err := e.c.Do(ctx, "PUT", "/api/projects/"+id+"/deployment/secrets/GREETING", strings.NewReader(`{"value":"`+value+`"}`), "application/json", nil); err != nil {
				t.Fatal(err)
			}
			return at
		}

		failedAt := setSecret("bad")
		v := e.waitRestartFailed(id)
		if !strings.Contains(v.SecretsRestartError, "exited with code 3") || v.SecretsRestartFailedAt == nil || v.SecretsRestartFailedAt.Before(failedAt) {
			t.Fatalf("the failed restart shows as %q at %v, want the exit code at or after %v", v.SecretsRestartError, v.SecretsRestartFailedAt, failedAt)
		}
		if v.SecretsRestartedAt != nil {
			t.Fatalf("a failed restart counted as done at %v", v.SecretsRestartedAt)
		}
		if _, body := e.fetch(pub.URL, "/"); body != "greeting=none" {
			t.Fatalf("after the failed restart the app says %q, want the old instance's answer", body)
		}

		v = e.waitRestarted(id, setSecret("good"))
		if v.SecretsRestartError != "" || v.SecretsRestartFailedAt != nil {
			t.Fatalf("a restart that succeeded left the failure shown: %q %v", v.SecretsRestartError, v.SecretsRestartFailedAt)
		}
		if _, body := e.fetch(pub.URL, "/"); body != "greeting=good" {
			t.Fatalf("after the good restart the app says %q", body)
		}

		setSecret("bad")
		e.waitRestartFailed(id)
		// a publish of code that starts whatever the secret says clears it
		if err := e.c.WriteFile(ctx, id, "index.js", []byte(greetApp)); err != nil {
			t.Fatal(err)
		}
		again := e.publish(id, "server")
		if r := e.waitRelease(id, again.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("release: %+v", r)
		}
		if v := e.getSettings(id); v.SecretsRestartError != "" || v.SecretsRestartFailedAt != nil {
			t.Fatalf("a publish left the failed restart shown: %q %v", v.SecretsRestartError, v.SecretsRestartFailedAt)
		}
	})
}

// waitRestartFailed waits until the deployment shows a failed restart
// with new secrets.
func (e *env) waitRestartFailed(projectID string) settingsView {
	e.t.Helper()
	return e.waitSettings(projectID, "showed the failed restart", func(v settingsView) bool {
		return !v.Restarting && v.SecretsRestartError != ""
	})
}

// TestSecretRestartFailureKept: the failure of a restart with new secrets
// is kept in the store: a server started again on the same data (whose
// resume of the app fails the same way) still shows why and when.
func TestSecretRestartFailureKept(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		id, _ := e.publishLive("Stubborn", "server", `{"kind":"server"}`, map[string]string{"index.js": pickyApp})
		e.srv.Clock.Advance(time.Minute)
		if err := e.c.Do(ctx, "PUT", "/api/projects/"+id+"/deployment/secrets/GREETING", strings.NewReader(`{"value":"bad"}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		before := e.waitRestartFailed(id)
		e.srv.Close()
		srv2 := testutil.NewServer(t, st, testutil.ServerOptions{Dir: e.srv.Dir, Config: func(c *config.Config) { c.DeployHealth = 20 * time.Second }})
		after, err := srv2.Deploy.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if after.SecretsRestartError != before.SecretsRestartError || after.SecretsRestartFailedAt == nil ||
			!after.SecretsRestartFailedAt.Equal(*before.SecretsRestartFailedAt) {
			t.Fatalf("after the server restarted the failure shows as %q at %v, want %q at %v",
				after.SecretsRestartError, after.SecretsRestartFailedAt, before.SecretsRestartError, before.SecretsRestartFailedAt)
		}
	})
}
