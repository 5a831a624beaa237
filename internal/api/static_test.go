package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"ecode/internal/api"
	"ecode/internal/deploy"
	"ecode/internal/domains"
	"ecode/internal/errtrack"
	"ecode/internal/revoke"
	"ecode/internal/telemetry"
)

// Assets with precompressed variants are served compressed to clients that
// accept the coding, and plain to others; every answer varies on Accept-Encoding.
func TestSPAServesPrecompressedAssets(t *testing.T) {
	h := spaServer(fstest.MapFS{
		"index.html":            {Data: []byte("<!doctype html>")},
		"assets/app.js":         {Data: []byte("console.log('plain')")},
		"assets/app.js.br":      {Data: []byte("BROTLI")},
		"assets/app.js.gz":      {Data: []byte("GZIP")},
		"assets/only-gz.css":    {Data: []byte("body{}")},
		"assets/only-gz.css.gz": {Data: []byte("GZCSS")},
	})
	for _, tc := range []struct {
		path, accept, wantEnc, wantBody, wantType string
	}{
		{"/assets/app.js", "gzip, deflate, br, zstd", "br", "BROTLI", "text/javascript; charset=utf-8"},
		{"/assets/app.js", "gzip", "gzip", "GZIP", "text/javascript; charset=utf-8"},
		{"/assets/app.js", "br;q=0, gzip;q=0.5", "gzip", "GZIP", "text/javascript; charset=utf-8"},
		{"/assets/app.js", "*", "br", "BROTLI", "text/javascript; charset=utf-8"},
		{"/assets/app.js", "*, br;q=0", "gzip", "GZIP", "text/javascript; charset=utf-8"},
		{"/assets/app.js", "", "", "console.log('plain')", "text/javascript; charset=utf-8"},
		{"/assets/app.js", "identity", "", "console.log('plain')", "text/javascript; charset=utf-8"},
		{"/assets/only-gz.css", "br, gzip", "gzip", "GZCSS", "text/css; charset=utf-8"},
		{"/assets/only-gz.css", "br", "", "body{}", "text/css; charset=utf-8"},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Host = "localhost" // the server answers only to its own host names
		if tc.accept != "" {
			req.Header.Set("Accept-Encoding", tc.accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != tc.wantEnc || string(body) != tc.wantBody {
			t.Errorf("%s with %q: %d %q %q", tc.path, tc.accept, res.StatusCode, res.Header.Get("Content-Encoding"), body)
		}
		if got := res.Header.Get("Content-Type"); got != tc.wantType {
			t.Errorf("%s with %q: Content-Type %q", tc.path, tc.accept, got)
		}
		if res.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s: Vary %q", tc.path, res.Header.Get("Vary"))
		}
		if res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", tc.path, res.Header.Get("Cache-Control"))
		}
	}
}

func spaServer(ui fstest.MapFS) http.Handler {
	return api.New(api.Deps{UI: ui, Revoke: revoke.NewLocal(), Metrics: telemetry.New(), Domains: domains.New(domains.Options{}), Deploy: deploy.New(deploy.Deps{}, deploy.Options{AppsDomain: "apps.localhost"}), Errors: errtrack.New(nil, time.Now, slog.New(slog.DiscardHandler), errtrack.Options{}), Log: slog.New(slog.DiscardHandler), Now: time.Now}, api.Options{}).Handler()
}

// The calls between nodes (/internal/...) are not the public listener's:
// there they answer 404, not the page of the single-page app (which every
// other unknown path gets, for the client-side router).
func TestPublicListenerHasNoInternalRoutes(t *testing.T) {
	h := spaServer(fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/internal", 404},
		{"GET", "/internal/", 404},
		{"GET", "/internal/projects/p1/secrets-changed", 404},
		{"POST", "/internal/projects/p1/secrets-changed", 404},
		{"POST", "/internal/projects/p1/suspend", 404},
		{"POST", "/internal/projects/p1/run/stop", 404},
		{"GET", "/projects/p1", 200},
		{"GET", "/internalize", 200},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Host = "localhost"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != tc.want || (tc.want == 404 && strings.Contains(body, "<!doctype html>")) {
			t.Errorf("%s %s: %d %q, want %d", tc.method, tc.path, rec.Code, body, tc.want)
		}
	}
}
