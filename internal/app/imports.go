package app

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"ecode/internal/auth"
	"ecode/internal/config"
	"ecode/internal/imports"
)

// buildImports makes the import service: staging under the data dir (apart
// from the project store), the SSRF guard with the operator's allowed hosts.
func (s *Server) buildImports(cfg *config.Config, now func() time.Time) {
	s.Imports = imports.New(imports.Deps{
		Store: s.Store, Projects: s.Projects, Secrets: s.Secrets, Log: s.Log.With("component", "imports"),
		Now: now, NewID: auth.NewID, StageDir: filepath.Join(cfg.DataDir, "imports"),
		Limits: imports.Limits{MaxBytes: cfg.ImportMaxBytes},
		Guard:  imports.Guard{Allow: splitList(cfg.ImportAllowHosts)},
		Figma:  figmaConverter(cfg),
	})
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

// figmaConverter is nil until the Figma converter is wired (see internal/figma).
func figmaConverter(cfg *config.Config) imports.FigmaConverter { return nil }

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
