package api

import (
	"net/http"
)

// Access says who may call a route. The router enforces it before the
// handler runs: anonymous callers of non-public routes get 401, callers who
// are not members of the route's project get 404, members whose role is too
// low get 403.
type Access int

// The access classes.
const (
	Public     Access = iota // anyone
	Signed                   // any signed-in user (session or token)
	Admin                    // a signed-in admin
	ProjViewer               // a member of the project {id}, any role
	ProjEditor               // an editor or owner of {id}
	ProjOwner                // the owner of {id}
	ProjMember               // a member; the handler checks further (member removal)
	Metrics                  // an admin, or a scraper with the configured metrics token
	numAccessClasses
)

type route struct {
	pattern string
	access  Access
	h       handlerFunc
}

// Route is a registered route, exported for the authorization test.
type Route struct {
	Pattern string
	Access  Access
}

// Routes lists the route table.
func (s *Server) Routes() []Route {
	var out []Route
	for _, rt := range s.routes() {
		out = append(out, Route{rt.pattern, rt.access})
	}
	return out
}

// routes is the whole API. Routes wrapped in atOwner use the project's
// sandbox (or its agent turn): on a node of several they run on the node
// that owns the project, forwarded there from any other (forward.go).
func (s *Server) routes() []route {
	return append([]route{
		{"GET /healthz", Public, s.healthz},
		{"GET /readyz", Public, s.readyz},
		{"GET /api/server", Public, s.serverInfo},
		{"GET /metrics", Metrics, s.serveMetrics},

		{"GET /status.json", Public, s.statusJSON},
		{"POST /api/admin/incidents", Admin, s.postIncident},
		{"POST /api/admin/incidents/{iid}/resolve", Admin, s.resolveIncident},
		{"POST /api/errors/report", Public, s.reportError},
		{"POST /api/vitals", Public, s.reportVitals},
		{"GET /api/admin/errors", Admin, s.adminErrors},
		{"GET /api/admin/errors/{eid}", Admin, s.adminError},
		{"DELETE /api/admin/errors/{eid}", Admin, s.resolveError},
		{"GET /api/admin/vitals", Admin, s.adminVitals},

		{"GET /api/notifications", Signed, s.listNotifications},
		{"POST /api/notifications/read", Signed, s.markNotificationsRead},
		{"GET /api/me/notification-prefs", Signed, s.notificationPrefs},
		{"PUT /api/me/notification-prefs", Signed, s.putNotificationPrefs},

		{"POST /api/auth/signup", Public, s.signup},
		{"POST /api/auth/login", Public, s.login},
		{"POST /api/auth/logout", Public, s.logout},
		{"POST /api/auth/dev-login", Public, s.devLogin},
		{"GET /api/me", Signed, s.me},
		{"GET /api/sessions", Signed, s.listSessions},
		{"DELETE /api/sessions/{sid}", Signed, s.revokeSession},
		{"GET /api/tokens", Signed, s.listTokens},
		{"POST /api/tokens", Signed, s.createToken},
		{"DELETE /api/tokens/{tid}", Signed, s.revokeToken},
		{"GET /api/auth/totp", Signed, s.totpStatus},
		{"POST /api/auth/totp/enroll", Signed, s.totpEnroll},
		{"POST /api/auth/totp/confirm", Signed, s.totpConfirm},
		{"POST /api/auth/totp/disable", Signed, s.totpDisable},
		{"POST /api/auth/login/second-factor", Public, s.loginSecondFactor},
		{"POST /api/auth/passkey/begin", Public, s.beginPasskeyLogin},
		{"POST /api/auth/passkey/finish", Public, s.finishPasskeyLogin},
		{"PATCH /api/me", Signed, s.updateProfile},
		{"POST /api/me/password", Signed, s.changePassword},
		{"GET /api/me/security-events", Signed, s.mySecurityEvents},
		{"GET /api/me/passkeys", Signed, s.listPasskeys},
		{"POST /api/me/passkeys/begin", Signed, s.beginPasskeyRegistration},
		{"POST /api/me/passkeys/finish", Signed, s.finishPasskeyRegistration},
		{"DELETE /api/me/passkeys/{pid}", Signed, s.deletePasskey},
		{"GET /api/admin/users", Admin, s.adminListUsers},
		{"PATCH /api/admin/users/{uid}", Admin, s.adminPatchUser},
		{"POST /api/admin/users/{uid}/reset-2fa", Admin, s.adminResetTwoFactor},
		{"DELETE /api/admin/users/{uid}", Admin, s.adminDeleteUser},
		{"GET /api/admin/security-events", Admin, s.adminSecurityEvents},
		{"GET /api/admin/agent/settings", Admin, s.adminAgentSettings},
		{"PUT /api/admin/agent/settings", Admin, s.putAdminAgentSettings},
		{"POST /api/admin/agent/test", Admin, s.adminAgentTest},
		{"GET /api/admin/signup-policy", Admin, s.getSignupPolicy},
		{"PUT /api/admin/signup-policy", Admin, s.putSignupPolicy},
		{"GET /api/admin/invites", Admin, s.listInvites},
		{"POST /api/admin/invites", Admin, s.createInvite},
		{"DELETE /api/admin/invites/{iid}", Admin, s.revokeInvite},
		{"GET /api/admin/jobs", Admin, s.adminListJobs},
		{"GET /api/admin/backups", Admin, s.adminListBackups},
		{"POST /api/admin/jobs/{jid}/retry", Admin, s.adminRetryJob},
		{"POST /api/admin/jobs/{jid}/cancel", Admin, s.adminCancelJob},
		{"GET /api/admin/monitoring", Admin, s.adminMonitoring},
		{"GET /api/admin/nodes", Admin, s.adminNodes},
		{"POST /api/admin/nodes/{nid}/drain", Admin, s.drainNode},

		{"GET /api/templates", Signed, s.templates},
		{"GET /api/templates/suggest", Signed, s.suggestTemplate},
		{"GET /api/projects", Signed, s.listProjects},
		{"POST /api/projects", Signed, s.createProject},
		{"GET /api/projects/{id}", ProjViewer, s.getProject},
		{"PATCH /api/projects/{id}", ProjEditor, s.renameProject},
		{"DELETE /api/projects/{id}", ProjOwner, s.deleteProject},
		{"POST /api/projects/{id}/transfer", ProjOwner, s.transferProject},

		{"GET /api/projects/{id}/members", ProjViewer, s.listMembers},
		{"POST /api/projects/{id}/members", ProjOwner, s.addMember},
		{"PATCH /api/projects/{id}/members/{uid}", ProjOwner, s.setMemberRole},
		{"DELETE /api/projects/{id}/members/{uid}", ProjMember, s.removeMember},

		{"GET /api/projects/{id}/files", ProjViewer, s.fileTree},
		{"GET /api/projects/{id}/search", ProjViewer, s.searchProject},
		{"GET /api/projects/{id}/tree/events", ProjViewer, s.treeEvents},
		{"GET /api/projects/{id}/files/{path...}", ProjViewer, s.readFile},
		{"PUT /api/projects/{id}/files/{path...}", ProjEditor, s.writeFile},
		{"DELETE /api/projects/{id}/files/{path...}", ProjEditor, s.deleteFile},
		{"POST /api/projects/{id}/mkdir", ProjEditor, s.mkdir},
		{"POST /api/projects/{id}/move", ProjEditor, s.move},
		{"POST /api/projects/{id}/upload", ProjEditor, s.upload},
		{"GET /api/projects/{id}/zip", ProjViewer, s.downloadZip},

		{"GET /api/projects/{id}/runconfig", ProjViewer, s.runConfig},
		{"POST /api/projects/{id}/exec", ProjEditor, s.atOwner(s.exec)},
		{"POST /api/projects/{id}/run", ProjEditor, s.atOwner(s.startRun)},
		{"POST /api/projects/{id}/stop", ProjEditor, s.atOwner(s.stopRun)},
		{"GET /api/projects/{id}/run", ProjViewer, s.atOwner(s.getRun)},
		{"GET /api/projects/{id}/run/output", ProjViewer, s.atOwner(s.runOutput)},
		{"GET /api/projects/{id}/terminals", ProjEditor, s.atOwner(s.listTerminals)},
		{"POST /api/projects/{id}/terminals", ProjEditor, s.atOwner(s.openTerminal)},
		{"DELETE /api/projects/{id}/terminals/{tid}", ProjEditor, s.atOwner(s.closeTerminal)},
		{"GET /api/projects/{id}/terminals/{tid}/ws", ProjEditor, s.atOwner(s.terminalSocket)},
		{"POST /api/projects/{id}/preview/session", ProjViewer, s.previewSession},

		{"GET /api/projects/{id}/checkpoints", ProjViewer, s.listCheckpoints},
		{"POST /api/projects/{id}/checkpoints", ProjEditor, s.createCheckpoint},
		{"GET /api/projects/{id}/checkpoints/{cid}/diff", ProjViewer, s.checkpointDiff},
		{"GET /api/projects/{id}/checkpoints/{cid}/tree", ProjViewer, s.checkpointTree},
		{"GET /api/projects/{id}/checkpoints/{cid}/files/{path...}", ProjViewer, s.checkpointFile},
		{"POST /api/projects/{id}/checkpoints/{cid}/restore", ProjEditor, s.atOwner(s.restoreCheckpoint)},
		{"POST /api/projects/{id}/checkpoints/{cid}/fork", ProjEditor, s.forkCheckpoint},
		{"GET /api/projects/{id}/collab/{path...}", ProjViewer, s.collabSocket},

		{"GET /api/agent/status", Signed, s.agentStatus},
		{"POST /api/projects/{id}/agent/quote", ProjEditor, s.agentQuote},
		{"POST /api/projects/{id}/agent/turns", ProjEditor, s.atOwner(s.agentTurn)},
		{"GET /api/projects/{id}/agent/turns", ProjViewer, s.agentTurns},
		{"GET /api/projects/{id}/agent/stream", ProjViewer, s.atOwner(s.agentStream)},
		{"POST /api/projects/{id}/agent/stop", ProjEditor, s.atOwner(s.agentStop)},
	}, append(append(append(append(s.secretRoutes(), s.domainRoutes()...), s.importRoutes()...), s.billingRoutes()...), s.deploymentRoutes()...)...)
}

// nodeRoutes are the calls between nodes (nodecalls.go): served only on
// the internal listener, to requests another node signed; their access is
// the signature.
func (s *Server) nodeRoutes() []route {
	return []route{
		{"POST /internal/projects/{id}/secrets-changed", Public, s.nodeSecretsChanged},
		{"POST /internal/projects/{id}/deployment/suspend", Public, s.nodeSuspendDeployment},
		{"POST /internal/projects/{id}/run/stop", Public, s.nodeStopRun},
	}
}

// guard wraps a route with its access check and the error adapter.
func (s *Server) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, ri := withInfo(r)
		ri.route = rt.pattern
		a, err := s.authorize(r, rt.access)
		if err == nil {
			// principal(r) and project(r) read them here, as does the
			// secrets' audit (reqInfo.SecretActor)
			ri.principal, ri.project, ri.userID = a.principal, a.project, a.principal.User.ID
			var done func()
			r, done = s.track(r, ri)
			err = rt.h(w, r)
			done()
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}
