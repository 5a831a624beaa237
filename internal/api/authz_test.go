package api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"ecode/internal/api"
	"ecode/internal/client"
	"ecode/internal/store"
	"ecode/internal/testutil"
)

// expectedAccess is this test's own classification of every route. A route
// added to the server without a line here fails the test, so nobody adds an
// endpoint without deciding who may call it.
var expectedAccess = map[string]api.Access{
	"GET /healthz":                                             api.Public,
	"GET /readyz":                                              api.Public,
	"GET /api/server":                                          api.Public,
	"GET /metrics":                                             api.Metrics,
	"GET /status.json":                                         api.Public,
	"POST /api/admin/incidents":                                api.Admin,
	"POST /api/admin/incidents/{iid}/resolve":                  api.Admin,
	"POST /api/errors/report":                                  api.Public,
	"POST /api/vitals":                                         api.Public,
	"GET /api/admin/errors":                                    api.Admin,
	"GET /api/admin/errors/{eid}":                              api.Admin,
	"DELETE /api/admin/errors/{eid}":                           api.Admin,
	"GET /api/admin/vitals":                                    api.Admin,
	"GET /api/notifications":                                   api.Signed,
	"POST /api/notifications/read":                             api.Signed,
	"GET /api/me/notification-prefs":                           api.Signed,
	"PUT /api/me/notification-prefs":                           api.Signed,
	"POST /api/auth/signup":                                    api.Public,
	"POST /api/auth/login":                                     api.Public,
	"POST /api/auth/logout":                                    api.Public,
	"POST /api/auth/dev-login":                                 api.Public,
	"GET /api/me":                                              api.Signed,
	"GET /api/sessions":                                        api.Signed,
	"DELETE /api/sessions/{sid}":                               api.Signed,
	"GET /api/tokens":                                          api.Signed,
	"POST /api/tokens":                                         api.Signed,
	"DELETE /api/tokens/{tid}":                                 api.Signed,
	"GET /api/auth/totp":                                       api.Signed,
	"POST /api/auth/totp/enroll":                               api.Signed,
	"POST /api/auth/totp/confirm":                              api.Signed,
	"POST /api/auth/totp/disable":                              api.Signed,
	"POST /api/auth/login/second-factor":                       api.Public,
	"POST /api/auth/passkey/begin":                             api.Public,
	"POST /api/auth/passkey/finish":                            api.Public,
	"PATCH /api/me":                                            api.Signed,
	"POST /api/me/password":                                    api.Signed,
	"GET /api/me/security-events":                              api.Signed,
	"GET /api/me/passkeys":                                     api.Signed,
	"POST /api/me/passkeys/begin":                              api.Signed,
	"POST /api/me/passkeys/finish":                             api.Signed,
	"DELETE /api/me/passkeys/{pid}":                            api.Signed,
	"GET /api/admin/users":                                     api.Admin,
	"GET /api/admin/jobs":                                      api.Admin,
	"GET /api/admin/backups":                                   api.Admin,
	"POST /api/admin/jobs/{jid}/retry":                         api.Admin,
	"POST /api/admin/jobs/{jid}/cancel":                        api.Admin,
	"GET /api/admin/monitoring":                                api.Admin,
	"GET /api/admin/nodes":                                     api.Admin,
	"POST /api/admin/nodes/{nid}/drain":                        api.Admin,
	"PATCH /api/admin/users/{uid}":                             api.Admin,
	"POST /api/admin/users/{uid}/reset-2fa":                    api.Admin,
	"DELETE /api/admin/users/{uid}":                            api.Admin,
	"GET /api/admin/security-events":                           api.Admin,
	"GET /api/admin/agent/settings":                            api.Admin,
	"PUT /api/admin/agent/settings":                            api.Admin,
	"POST /api/admin/agent/test":                               api.Admin,
	"GET /api/admin/signup-policy":                             api.Admin,
	"PUT /api/admin/signup-policy":                             api.Admin,
	"GET /api/admin/invites":                                   api.Admin,
	"POST /api/admin/invites":                                  api.Admin,
	"DELETE /api/admin/invites/{iid}":                          api.Admin,
	"GET /api/usage":                                           api.Signed,
	"GET /api/usage/statement.csv":                             api.Signed,
	"POST /api/usage/checkout":                                 api.Signed,
	"POST /api/stripe/webhook":                                 api.Public,
	"GET /api/admin/billing/price-book":                        api.Admin,
	"PUT /api/admin/billing/price-book":                        api.Admin,
	"GET /api/admin/billing/plans":                             api.Admin,
	"PUT /api/admin/billing/plans/{plan}":                      api.Admin,
	"GET /api/admin/billing/accounts":                          api.Admin,
	"PUT /api/admin/billing/accounts/{uid}/plan":               api.Admin,
	"POST /api/admin/billing/accounts/{uid}/credits":           api.Admin,
	"GET /api/templates":                                       api.Signed,
	"GET /api/templates/suggest":                               api.Signed,
	"GET /api/projects":                                        api.Signed,
	"POST /api/projects":                                       api.Signed,
	"GET /api/projects/{id}":                                   api.ProjViewer,
	"PATCH /api/projects/{id}":                                 api.ProjEditor,
	"DELETE /api/projects/{id}":                                api.ProjOwner,
	"POST /api/projects/{id}/transfer":                         api.ProjOwner,
	"GET /api/projects/{id}/members":                           api.ProjViewer,
	"POST /api/projects/{id}/members":                          api.ProjOwner,
	"PATCH /api/projects/{id}/members/{uid}":                   api.ProjOwner,
	"DELETE /api/projects/{id}/members/{uid}":                  api.ProjMember,
	"GET /api/projects/{id}/files":                             api.ProjViewer,
	"GET /api/projects/{id}/search":                            api.ProjViewer,
	"GET /api/projects/{id}/tree/events":                       api.ProjViewer,
	"GET /api/projects/{id}/files/{path...}":                   api.ProjViewer,
	"PUT /api/projects/{id}/files/{path...}":                   api.ProjEditor,
	"DELETE /api/projects/{id}/files/{path...}":                api.ProjEditor,
	"POST /api/projects/{id}/mkdir":                            api.ProjEditor,
	"POST /api/projects/{id}/move":                             api.ProjEditor,
	"POST /api/projects/{id}/upload":                           api.ProjEditor,
	"GET /api/projects/{id}/zip":                               api.ProjViewer,
	"GET /api/projects/{id}/runconfig":                         api.ProjViewer,
	"POST /api/projects/{id}/exec":                             api.ProjEditor,
	"POST /api/projects/{id}/run":                              api.ProjEditor,
	"POST /api/projects/{id}/stop":                             api.ProjEditor,
	"GET /api/projects/{id}/run":                               api.ProjViewer,
	"GET /api/projects/{id}/run/output":                        api.ProjViewer,
	"GET /api/projects/{id}/terminals":                         api.ProjEditor,
	"POST /api/projects/{id}/terminals":                        api.ProjEditor,
	"DELETE /api/projects/{id}/terminals/{tid}":                api.ProjEditor,
	"GET /api/projects/{id}/terminals/{tid}/ws":                api.ProjEditor,
	"GET /api/projects/{id}/checkpoints":                       api.ProjViewer,
	"POST /api/projects/{id}/checkpoints":                      api.ProjEditor,
	"GET /api/projects/{id}/checkpoints/{cid}/diff":            api.ProjViewer,
	"GET /api/projects/{id}/checkpoints/{cid}/tree":            api.ProjViewer,
	"GET /api/projects/{id}/checkpoints/{cid}/files/{path...}": api.ProjViewer,
	"POST /api/projects/{id}/checkpoints/{cid}/restore":        api.ProjEditor,
	"POST /api/projects/{id}/checkpoints/{cid}/fork":           api.ProjEditor,
	"POST /api/projects/{id}/preview/session":                  api.ProjViewer,
	"GET /api/projects/{id}/collab/{path...}":                  api.ProjViewer,
	"GET /api/agent/status":                                    api.Signed,
	"POST /api/projects/{id}/agent/quote":                      api.ProjEditor,
	"POST /api/projects/{id}/agent/turns":                      api.ProjEditor,
	"GET /api/projects/{id}/agent/turns":                       api.ProjViewer,
	"GET /api/projects/{id}/agent/stream":                      api.ProjViewer,
	"POST /api/projects/{id}/agent/stop":                       api.ProjEditor,
	"GET /api/projects/{id}/secrets":                           api.ProjViewer,
	"PUT /api/projects/{id}/secrets/{name}":                    api.ProjEditor,
	"DELETE /api/projects/{id}/secrets/{name}":                 api.ProjEditor,
	"POST /api/projects/{id}/secrets/{name}/reveal":            api.ProjEditor,
	"POST /api/projects/{id}/secrets/import":                   api.ProjEditor,
	"PUT /api/projects/{id}/secrets/links/{name}":              api.ProjEditor,
	"DELETE /api/projects/{id}/secrets/links/{name}":           api.ProjEditor,
	"GET /api/projects/{id}/secrets/audit":                     api.ProjOwner,
	"GET /api/projects/{id}/secrets/audit/export":              api.ProjOwner,
	"GET /api/me/secrets":                                      api.Signed,
	"PUT /api/me/secrets/{name}":                               api.Signed,
	"DELETE /api/me/secrets/{name}":                            api.Signed,
	"POST /api/me/secrets/{name}/reveal":                       api.Signed,
	"GET /api/me/secrets/audit":                                api.Signed,

	"GET /api/projects/{id}/deployment/domains":                  api.ProjViewer,
	"POST /api/projects/{id}/deployment/domains":                 api.ProjEditor,
	"POST /api/projects/{id}/deployment/domains/{domain}/verify": api.ProjEditor,
	"DELETE /api/projects/{id}/deployment/domains/{domain}":      api.ProjEditor,
	"POST /api/imports":             api.Signed,
	"GET /api/imports":              api.Signed,
	"GET /api/imports/{id}":         api.Signed,
	"GET /api/imports/{id}/events":  api.Signed,
	"POST /api/imports/{id}/cancel": api.Signed,
	// deployments
	"GET /api/projects/{id}/deployment":                          api.ProjViewer,
	"PATCH /api/projects/{id}/deployment":                        api.ProjEditor,
	"POST /api/projects/{id}/deployment/publish":                 api.ProjEditor,
	"POST /api/projects/{id}/deployment/releases/{rid}/activate": api.ProjEditor,
	"GET /api/projects/{id}/deployment/releases/{rid}/log":       api.ProjViewer,
	"GET /api/projects/{id}/deployment/logs":                     api.ProjViewer,
	"GET /api/projects/{id}/deployment/metrics":                  api.ProjViewer,
	"GET /api/projects/{id}/deployment/runs":                     api.ProjViewer,
	"GET /api/projects/{id}/deployment/runs/{runid}/log":         api.ProjViewer,
	"GET /api/projects/{id}/deployment/secrets":                  api.ProjViewer,
	"PUT /api/projects/{id}/deployment/secrets/{name}":           api.ProjEditor,
	"DELETE /api/projects/{id}/deployment/secrets/{name}":        api.ProjEditor,
	"POST /api/projects/{id}/deployment/secrets/{name}/reveal":   api.ProjEditor,
}

type caller struct {
	name   string
	c      *client.Client
	role   store.Role // role in the route's project; "" for none
	admin  bool
	signed bool
}

// outcome is what a caller should get from a route of a class: "deny401",
// "deny403", "deny404" (the project is hidden), or "pass" (the guard let
// the request through; the handler may still refuse it for its own reasons).
func outcome(access api.Access, who caller) string {
	if access == api.Public {
		return "pass"
	}
	if !who.signed {
		return "deny401"
	}
	switch access {
	case api.Signed:
		return "pass"
	case api.Admin, api.Metrics:
		if who.admin {
			return "pass"
		}
		return "deny403"
	}
	if who.role == "" {
		return "deny404"
	}
	need := map[api.Access]store.Role{api.ProjViewer: store.RoleViewer, api.ProjMember: store.RoleViewer,
		api.ProjEditor: store.RoleEditor, api.ProjOwner: store.RoleOwner}[access]
	if !who.role.AtLeast(need) {
		return "deny403"
	}
	return "pass"
}

func TestEveryRouteIsAuthorized(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		srv := testutil.NewServer(t, st)
		bearer := func(name string) *client.Client {
			c := srv.User(t, name)
			tok, err := c.CreateToken(ctx, "authz")
			if err != nil {
				t.Fatal(err)
			}
			b := srv.Client()
			b.Token = tok.Token
			return b
		}
		admin := bearer("admin") // first user: admin, member of nothing
		owner, editor, viewer, stranger := bearer("owner"), bearer("editor"), bearer("viewer"), bearer("stranger")

		routes := srv.API.Routes()
		seen := map[string]bool{}
		for _, rt := range routes {
			seen[rt.Pattern] = true
			want, ok := expectedAccess[rt.Pattern]
			if !ok {
				t.Errorf("route %q is not classified in expectedAccess", rt.Pattern)
				continue
			}
			if rt.Access != want {
				t.Errorf("route %q has access %d, the test expects %d", rt.Pattern, rt.Access, want)
			}
		}
		for p := range expectedAccess {
			if !seen[p] {
				t.Errorf("expectedAccess lists %q, which the server does not register", p)
			}
		}

		for _, rt := range routes {
			// A fresh project per route, so destructive routes do not disturb the rest.
			p, err := owner.CreateProject(ctx, "authz", "static")
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []struct{ who, role string }{{"editor", "editor"}, {"viewer", "viewer"}} {
				if _, err := owner.AddMember(ctx, p.ID, m.who+"@example.test", m.role); err != nil {
					t.Fatal(err)
				}
			}
			callers := []caller{
				{"anonymous", srv.Client(), "", false, false},
				{"stranger", stranger, "", false, true},
				{"admin", admin, "", true, true},
				{"viewer", viewer, store.RoleViewer, false, true},
				{"editor", editor, store.RoleEditor, false, true},
				{"owner", owner, store.RoleOwner, false, true}, // last: it may delete the project
			}
			for _, who := range callers {
				checkRoute(t, srv.URL, rt, p.ID, who)
			}
		}
	})
}

func checkRoute(t *testing.T, base string, rt api.Route, projectID string, who caller) {
	t.Helper()
	method, pattern, _ := strings.Cut(rt.Pattern, " ")
	url := strings.NewReplacer("{id}", projectID, "{path...}", "index.html", "{sid}", "nosuch",
		"{tid}", "nosuch", "{rid}", "nosuch", "{runid}", "nosuch", "{uid}", "nosuch", "{pid}", "nosuch", "{name}", "NOSUCH", "{domain}", "nosuch.example").Replace(pattern)
	var body io.Reader
	if method != "GET" && method != "DELETE" {
		body = strings.NewReader(`{}`)
	}
	// A JSON body is enough to pass or fail the guard (handlers may then
	// refuse it, which counts as "pass").
	// Raw returns once the headers are in, so streaming answers (SSE) do
	// not hold the walk up.
	resp, err := who.c.Raw(context.Background(), method, url, body, "application/json")
	if err == nil {
		resp.Body.Close()
	}
	got := "pass"
	if e, ok := err.(*client.Error); ok {
		switch {
		case e.Status == http.StatusUnauthorized:
			got = "deny401"
		case e.Status == http.StatusForbidden && e.Message != "only the owner may remove other members":
			got = "deny403"
		case e.Status == http.StatusNotFound && e.Message == "project not found":
			got = "deny404"
		}
	} else if err != nil {
		t.Fatalf("%s %s as %s: %v", method, url, who.name, err)
	}
	if want := outcome(expectedAccess[rt.Pattern], who); got != want {
		t.Errorf("%s as %s: got %s (%v), want %s", rt.Pattern, who.name, got, err, want)
	}
}
