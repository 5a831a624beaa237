package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"ecode/internal/auth"
	"ecode/internal/config"
	"ecode/internal/figma"
	"ecode/internal/imports"
	"ecode/internal/jobs"
)

// buildImports makes the import service: staging under the data dir (apart
// from the project store), the SSRF guard with the operator's allowed
// hosts, its imports run as jobs on the queue.
func (s *Server) buildImports(cfg *config.Config, now func() time.Time) {
	guard := imports.Guard{Allow: splitList(cfg.ImportAllowHosts)}
	s.Imports = imports.New(imports.Deps{
		Store: s.Store, Projects: s.Projects, Secrets: s.Secrets, Log: s.Log.With("component", "imports"),
		Now: now, NewID: auth.NewID, StageDir: filepath.Join(cfg.DataDir, "imports"),
		Limits: imports.Limits{MaxBytes: cfg.ImportMaxBytes},
		Guard:  guard,
		Jobs:   s.Jobs,
		Figma:  figmaConverter(cfg, guard),
	})
	jobs.Handle(s.Jobs, func(ctx context.Context, j imports.Job, attempt int) error {
		return s.Imports.Process(ctx, j.ImportID, attempt)
	})
	s.Metrics.JobKinds(imports.Job{}.Kind())
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// figmaConverter converts Figma files for imports: the REST API at
// --figma-api-url with the import's token (held only by the client), render
// downloads vetted by the import guard, rate-limit waits shown in the
// import's progress, and the converter's refusals as user-facing messages.
func figmaConverter(cfg *config.Config, guard imports.Guard) imports.FigmaConverter {
	return func(ctx context.Context, doc []byte, rawURL, token, dir string, p *imports.Progress) ([]string, []string, error) {
		c := &figma.Client{
			BaseURL: cfg.FigmaAPIURL, Token: token, HTTP: &http.Client{Timeout: 5 * time.Minute},
			Download: guardedClient(guard),
			CheckURL: func(ctx context.Context, raw string) error { _, err := guard.Check(ctx, raw); return err },
			OnWait:   func(until time.Time) { p.Wait(until, "waiting on a rate limit") },
			MaxBytes: cfg.ImportMaxBytes,
		}
		res, err := figma.Import(ctx, figma.Source{JSON: doc, URL: rawURL, Client: c}, dir, p.Note)
		var pr *figma.Problem
		if errors.As(err, &pr) {
			return nil, nil, &imports.UserError{Msg: pr.Msg}
		}
		if err != nil {
			return nil, nil, err
		}
		carried := []string{fmt.Sprintf("%d frames as React components (src/frames) shown by src/App.tsx, and a static page (figma-static.html)", res.Screens),
			fmt.Sprintf("%d components with their text props (src/components); colours and text styles as CSS variables (src/figma.css)", res.Components),
			fmt.Sprintf("%d layers converted; %d images and vectors rendered by Figma (src/assets)", res.Nodes, res.Assets)}
		return carried, res.Notes, nil
	}
}

// guardedClient fetches only from addresses the guard allows, dialling the
// address it checked (so a second DNS answer cannot lead elsewhere, nor can
// a redirect).
func guardedClient(guard imports.Guard) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		t, err := guard.Check(ctx, "http://"+net.JoinHostPort(host, port))
		if err != nil {
			return nil, err
		}
		return (&net.Dialer{Timeout: 30 * time.Second}).DialContext(ctx, network, net.JoinHostPort(t.Addr.String(), port))
	}
	return &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{DialContext: dial, TLSHandshakeTimeout: 30 * time.Second}}
}

// SetImportNotify sets the callback told when an import finishes or fails
// (notifications).
func (s *Server) SetImportNotify(fn func(ctx context.Context, userID, kind, title, body, link string)) {
	s.Imports.SetNotify(fn)
}

// registryMirrors are the package registry mirrors the operator chose
// (--npm-registry, --pypi-index, --go-proxy): the variables every sandbox
// gets, and the mirrors' hosts, which --egress=proxy allows.
func registryMirrors(cfg *config.Config) (env, hosts []string) {
	for _, m := range []struct{ url, name string }{
		{cfg.NPMRegistry, "npm_config_registry"}, {cfg.PyPIIndex, "PIP_INDEX_URL"}, {cfg.GoProxy, "GOPROXY"},
	} {
		if m.url == "" {
			continue
		}
		env = append(env, m.name+"="+m.url)
		if u, err := url.Parse(strings.Split(m.url, ",")[0]); err == nil && u.Hostname() != "" {
			hosts = append(hosts, u.Hostname())
		}
	}
	return env, hosts
}
