package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ecode/internal/app"
	"ecode/internal/client"
	"ecode/internal/deploy"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// settingsView is the deployment as the API answers it.
type settingsView = deploy.Status

// patch sends PATCH /api/projects/{id}/deployment; the error is the API's.
func (e *env) patch(projectID, body string) (settingsView, error) {
	var v settingsView
	err := e.c.Do(context.Background(), "PATCH", "/api/projects/"+projectID+"/deployment", strings.NewReader(body), "application/json", &v)
	return v, err
}

// wantFieldError checks that err is a 400 naming field, saying want.
func wantFieldError(t *testing.T, err error, field, want string) {
	t.Helper()
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || !strings.Contains(apiErr.Fields[field], want) {
		t.Fatalf("want a 400 on %s saying %q, got %v", field, want, err)
	}
}

// publishLive publishes files as kind with body's options and waits until live.
func (e *env) publishLive(name, kind, body string, files map[string]string) (string, published) {
	e.t.Helper()
	ctx := context.Background()
	p, err := e.c.CreateProject(ctx, name, "node")
	if err != nil {
		e.t.Fatal(err)
	}
	for path, src := range files {
		if err := e.c.WriteFile(ctx, p.ID, path, []byte(src)); err != nil {
			e.t.Fatal(err)
		}
	}
	e.srv.Clock.Advance(time.Second)
	var pub published
	if err := e.c.Do(ctx, "POST", "/api/projects/"+p.ID+"/deployment/publish", strings.NewReader(body), "application/json", &pub); err != nil {
		e.t.Fatal(err)
	}
	if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
		e.t.Fatalf("release: %+v", r)
	}
	return p.ID, pub
}

// TestScaleLive: the instance count changes on the live release under
// load with no failed request: 1→3 adds two instances (the first keeps
// serving, not restarted), 3→1 drains two; bad counts are refused.
func TestScaleLive(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		id, pub := e.publishLive("Scaly", "server", `{"kind":"server"}`, map[string]string{"index.js": idApp})
		_, first := e.fetch(pub.URL, "/")
		l := e.startLoad(pub.URL)
		v, err := e.patch(id, `{"instances":3}`)
		if err != nil || v.Instances != 3 || v.InstanceCount != 3 {
			t.Fatalf("scale to 3: %+v %v", v, err)
		}
		seen := map[string]bool{}
		for range 9 {
			_, body := e.fetch(pub.URL, "/")
			seen[body] = true
		}
		if len(seen) != 3 || !seen[first] {
			t.Fatalf("after scaling to 3 requests reached %v (the first instance %q must be among 3)", seen, first)
		}
		tok, err := e.c.CreateToken(context.Background(), "cli")
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		getenv := func(k string) string {
			return map[string]string{"ECODE_SERVER": e.srv.URL, "ECODE_TOKEN": tok.Token}[k]
		}
		if err := app.Main(context.Background(), []string{"deploy", "scale", id, "1"}, getenv, &out, &out); err != nil ||
			!strings.HasPrefix(out.String(), "1 instances serve ") {
			t.Fatalf("ecode deploy scale %s 1: %v %q", id, err, out.String())
		}
		if v = e.getSettings(id); v.Instances != 1 || v.InstanceCount != 1 {
			t.Fatalf("scaled to 1: %+v", v)
		}
		l.finish(t, "scaling 1→3→1")
		if _, body := e.fetch(pub.URL, "/"); body != first {
			t.Fatalf("after scaling down the first instance should serve, got %q want %q", body, first)
		}
		_, err = e.patch(id, `{"instances":9}`)
		wantFieldError(t, err, "instances", "between 1 and 8")
		_, err = e.patch(id, `{"schedule":"* * * * *"}`)
		wantFieldError(t, err, "schedule", "only scheduled deployments")
		_, err = e.patch(id, `{"idle_timeout_s":600}`)
		wantFieldError(t, err, "idle_timeout_s", "only autoscale")
	})
}

// TestScheduleSetting: a new schedule moves the next due time (on the
// service's fake clock) and the scheduler follows it; a bad one is refused
// with the cron parser's reason; the deployment's host shows a page with
// the schedule, the last run and the next due time, never the command.
func TestScheduleSetting(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		id, pub := e.publishLive("Cron settings", "scheduled", `{"kind":"scheduled","schedule":"0 * * * *"}`,
			map[string]string{"job.sh": jobScript, ".ecode.toml": "run = \"sh job.sh\"\n"})
		now := e.srv.Clock.Now().UTC()
		v := e.getSettings(id)
		if v.NextRunAt == nil || !v.NextRunAt.Equal(now.Truncate(time.Hour).Add(time.Hour)) {
			t.Fatalf("next run with hourly schedule: %+v (now %s)", v, now)
		}
		v, err := e.patch(id, `{"schedule":"*/5 * * * *"}`)
		next := now.Truncate(5 * time.Minute).Add(5 * time.Minute)
		if err != nil || v.Schedule != "*/5 * * * *" || v.NextRunAt == nil || !v.NextRunAt.Equal(next) {
			t.Fatalf("after the schedule change: %+v %v, want next %s", v, err, next)
		}
		_, err = e.patch(id, `{"schedule":"every tuesday"}`)
		wantFieldError(t, err, "schedule", "expected exactly 5 fields")
		_, err = e.patch(id, `{"instances":2}`)
		wantFieldError(t, err, "instances", "only server and autoscale")

		e.srv.Clock.Advance(next.Add(time.Second).Sub(e.srv.Clock.Now()))
		if err := e.srv.Deploy.RunSchedules(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.waitRun(id, next, "succeeded") // due by the new schedule
		code, page := e.fetch(pub.URL, "/")
		for _, want := range []string{"Scheduled job", "*/5 * * * *", "succeeded at " + next.Add(time.Second).Format(time.RFC3339),
			next.Add(5 * time.Minute).Format(time.RFC3339)} {
			if code != 200 || !strings.Contains(page, want) {
				t.Fatalf("the scheduled job page (%d) lacks %q:\n%s", code, want, page)
			}
		}
		if strings.Contains(page, "job.sh") {
			t.Fatalf("the scheduled job page shows the command:\n%s", page)
		}
	})
}

func (e *env) getSettings(projectID string) settingsView {
	e.t.Helper()
	var v settingsView
	if err := e.c.Do(context.Background(), "GET", "/api/projects/"+projectID+"/deployment", nil, "", &v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// TestIdleTimeoutSetting: an autoscale deployment's own idle timeout
// applies at once (on the fake clock), instead of the server's 15 min;
// 0 goes back to the server's; out of range is refused.
func TestIdleTimeoutSetting(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		id, pub := e.publishLive("Idle", "autoscale", `{"kind":"autoscale"}`, map[string]string{"index.js": countingApp})
		if v := e.getSettings(id); v.IdleTimeoutS != 900 || !v.IdleTimeoutDefault {
			t.Fatalf("default idle timeout: %+v", v)
		}
		_, err := e.patch(id, `{"idle_timeout_s":5}`)
		wantFieldError(t, err, "idle_timeout_s", "between 1m0s and 24h")
		v, err := e.patch(id, `{"idle_timeout_s":120}`)
		if err != nil || v.IdleTimeoutS != 120 || v.IdleTimeoutDefault {
			t.Fatalf("set the idle timeout: %+v %v", v, err)
		}
		e.fetch(pub.URL, "/")
		e.srv.Clock.Advance(119 * time.Second)
		if n := e.srv.Deploy.ScaleIdle(); n != 0 {
			t.Fatalf("stopped %d instances before the deployment's 2 min", n)
		}
		e.srv.Clock.Advance(2 * time.Second)
		if n := e.srv.Deploy.ScaleIdle(); n != 1 {
			t.Fatalf("after the deployment's 2 min idle ScaleIdle stopped %d", n)
		}
		if code, body := e.fetch(pub.URL, "/"); code != 200 || body != "hits=1" {
			t.Fatalf("waking request: %d %q", code, body)
		}
		if v, err = e.patch(id, `{"idle_timeout_s":0}`); err != nil || v.IdleTimeoutS != 900 || !v.IdleTimeoutDefault {
			t.Fatalf("back to the server's: %+v %v", v, err)
		}
		e.srv.Clock.Advance(5 * time.Minute)
		if n := e.srv.Deploy.ScaleIdle(); n != 0 {
			t.Fatalf("with the server's 15 min, 5 min idle stopped %d", n)
		}
	})
}

const greetApp = `import http from "node:http";
http.createServer((req, res) => res.end("greeting=" + (process.env.GREETING || "none"))).listen(Number(process.env.PORT), "127.0.0.1");
`

// TestSecretChangeRestarts: setting and deleting a production secret
// restarts the live instances (both of two) with it, under load with no
// failed request; the deployment shows when.
func TestSecretChangeRestarts(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		id, pub := e.publishLive("Greeter", "server", `{"kind":"server","instances":2}`, map[string]string{"index.js": greetApp})
		if _, body := e.fetch(pub.URL, "/"); body != "greeting=none" {
			t.Fatalf("before: %q", body)
		}
		ctx := context.Background()
		l := e.startLoad(pub.URL)
		e.srv.Clock.Advance(time.Minute)
		changedAt := e.srv.Clock.Now()
		if err := e.c.Do(ctx, "PUT", "/api/projects/"+id+"/deployment/secrets/GREETING", strings.NewReader(`{"value":"hello-prod"}`), "application/json", nil); err != nil {
			t.Fatal(err)
		}
		v := e.waitRestarted(id, changedAt)
		for range 4 { // both instances
			if _, body := e.fetch(pub.URL, "/"); body != "greeting=hello-prod" {
				t.Fatalf("after the secret change the app says %q", body)
			}
		}
		if v.Instances != 2 {
			t.Fatalf("after the restart %d instances serve, want 2", v.Instances)
		}
		e.srv.Clock.Advance(time.Minute)
		changedAt = e.srv.Clock.Now()
		if err := e.c.Do(ctx, "DELETE", "/api/projects/"+id+"/deployment/secrets/GREETING", nil, "", nil); err != nil {
			t.Fatal(err)
		}
		e.waitRestarted(id, changedAt)
		l.finish(t, "restarts with changed secrets")
		if _, body := e.fetch(pub.URL, "/"); body != "greeting=none" {
			t.Fatalf("after deleting the secret the app says %q", body)
		}
	})
}

// waitRestarted waits until the deployment restarted with new secrets at
// or after t.
func (e *env) waitRestarted(projectID string, t time.Time) settingsView {
	e.t.Helper()
	return e.waitSettings(projectID, "restarted with the new secrets", func(v settingsView) bool {
		return !v.Restarting && v.SecretsRestartedAt != nil && !v.SecretsRestartedAt.Before(t)
	})
}

// waitSettings waits, on the service's change notifications, until the
// deployment as the API shows it is what ok wants (what says what, when
// it never is).
func (e *env) waitSettings(projectID, what string, ok func(settingsView) bool) settingsView {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		changed := e.srv.Deploy.Changed()
		v := e.getSettings(projectID)
		if ok(v) {
			return v
		}
		select {
		case <-changed:
		case <-ctx.Done():
			e.t.Fatalf("never %s: %+v", what, v)
		}
	}
}

// TestCrashRace: a request arriving just after the instance crashed (its
// process gone, before the supervisor restarted it) is held until the
// restart and answered, not 502; with two instances it goes to the other.
func TestCrashRace(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		id, pub := e.publishLive("Racy", "server", `{"kind":"server"}`, map[string]string{"index.js": crashingApp})
		e.srv.Deploy.KillServing(id)
		if code, body := e.fetchStatus(pub.URL, "/"); code != 200 || !strings.Contains(body, "still here") {
			t.Fatalf("the request after the crash: %d %q", code, body)
		}
		if _, err := e.patch(id, `{"instances":2}`); err != nil {
			t.Fatal(err)
		}
		e.srv.Deploy.KillServing(id)
		for range 2 {
			if code, body := e.fetchStatus(pub.URL, "/"); code != 200 || !strings.Contains(body, "still here") {
				t.Fatalf("a request after one of two crashed: %d %q", code, body)
			}
		}
	})
}
