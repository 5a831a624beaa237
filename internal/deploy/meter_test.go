package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ecode/internal/billing"
	"ecode/internal/config"
	"ecode/internal/deploy"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// TestDeployMetering: bytes a published static app serves are recorded,
// after a flush, as bandwidth usage of the owner (priced, counted once),
// and the router's requests show on /metrics by project and status class.
func TestDeployMetering(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st, testutil.ServerOptions{Config: func(c *config.Config) {
			c.DeployHealth = 20 * time.Second
			c.MetricsToken = "scrape-me"
		}})
		testutil.RequireSandbox(t, testutil.NewSandbox(t))
		e := newEnvOn(t, srv)
		e.c = srv.User(t, "publisher")
		pb := billing.DefaultPriceBook()
		pb.BandwidthGBMicros = 1_000_000_000 // a micro-unit per byte, so small sites cost something
		if err := srv.Billing.SetPriceBook(ctx, pb); err != nil {
			t.Fatal(err)
		}
		p, err := e.c.CreateProject(ctx, "Metered Site", "static")
		if err != nil {
			t.Fatal(err)
		}
		pub := e.publish(p.ID, "static")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("static release: %+v", r)
		}
		const n = 5
		size := 0
		for range n {
			code, body := e.fetch(pub.URL, "/style.css")
			if code != 200 || body == "" {
				t.Fatalf("style.css: %d %q", code, body)
			}
			size = len(body)
		}
		if code, _ := e.fetch(pub.URL, "/missing.txt"); code != 404 {
			t.Fatalf("missing file: %d", code)
		}
		srv.Deploy.FlushUsage(ctx)
		want := int64(n * size)
		bw := bandwidth(t, e)
		if bw.Quantity < want || bw.AmountMicros < want {
			t.Fatalf("bandwidth after %d × %d bytes: %+v", n, size, bw)
		}
		srv.Deploy.FlushUsage(ctx) // nothing new: nothing more recorded
		if again := bandwidth(t, e); again != bw {
			t.Fatalf("a flush with nothing served changed the bandwidth: %+v → %+v", bw, again)
		}
		var c deploy.Counts // GET /api/projects/{id}/deployment/metrics, as the Deployments pane reads it
		if err := e.c.Do(ctx, "GET", "/api/projects/"+p.ID+"/deployment/metrics", nil, "", &c); err != nil {
			t.Fatal(err)
		}
		if c.Requests != n+1 || c.Classes["2xx"] != n || c.Classes["4xx"] != 1 || c.Bytes < want {
			t.Fatalf("deployment metrics: %+v", c)
		}

		scraper := srv.Client()
		scraper.Token = "scrape-me"
		var body []byte
		if err := scraper.Do(ctx, "GET", "/metrics", nil, "", &body); err != nil {
			t.Fatal(err)
		}
		m := string(body)
		for _, s := range []string{
			`ecode_deploy_requests_total{class="2xx",project="` + p.ID + `"} 5`,
			`ecode_deploy_requests_total{class="4xx",project="` + p.ID + `"} 1`,
			`ecode_deploy_bytes_total{project="` + p.ID + `"}`,
			`ecode_deploy_request_duration_seconds_count 6`,
		} {
			if !strings.Contains(m, s) {
				t.Errorf("metrics lack %s", s)
			}
		}
	})
}

// TestDeployInstanceSeconds: a running server instance's time is billed as
// deployment time: an hour on the clock is an hour's price after a flush.
func TestDeployInstanceSeconds(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		p, err := e.c.CreateProject(context.Background(), "Metered Node", "node")
		if err != nil {
			t.Fatal(err)
		}
		pub := e.publish(p.ID, "server")
		if r := e.waitRelease(p.ID, pub.Release.ID, "live", "failed"); r.Status != "live" {
			t.Fatalf("server release: %+v", r)
		}
		e.srv.Clock.Advance(time.Hour)
		e.srv.Deploy.FlushUsage(context.Background())
		d := meterLine(t, e, billing.MeterDeploy)
		if d.Quantity < 3600 || d.AmountMicros < billing.DefaultPriceBook().DeployHourMicros {
			t.Fatalf("deployment time after an hour: %+v", d)
		}
	})
}

// bandwidth is the owner's bandwidth meter this month (GET /api/usage).
func bandwidth(t *testing.T, e *env) billing.MeterLine {
	return meterLine(t, e, billing.MeterBandwidth)
}

// meterLine is one of the owner's meters this month (GET /api/usage).
func meterLine(t *testing.T, e *env, meter string) billing.MeterLine {
	t.Helper()
	var u billing.Usage
	if err := e.c.Do(context.Background(), "GET", "/api/usage", nil, "", &u); err != nil {
		t.Fatal(err)
	}
	for _, m := range u.Meters {
		if m.Meter == meter {
			return m
		}
	}
	t.Fatalf("no %s meter in %+v", meter, u)
	return billing.MeterLine{}
}
