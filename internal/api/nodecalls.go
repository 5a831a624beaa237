package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"ecode/internal/runner"
)

// Calls between nodes: what one node asks of the node running a project,
// outside of any client's request. They are served only on the internal
// listener, to requests signed with the cluster secret (InternalHandler),
// under /internal/ (the route table: nodeRoutes).

// secretsNote is written to the app's output before it restarts.
const secretsNote = "[e-code] the project's secrets changed: restarting the app"

// SecretsChanged restarts the project's app, if it runs, because its
// secrets changed: here when this node runs the project, else on the node
// that does (a signed call to its internal listener). A project no node
// runs has no app to restart.
func (s *Server) SecretsChanged(ctx context.Context, projectID string) {
	if s.cluster != nil {
		o, ok, err := s.cluster.Holder(ctx, projectID)
		if err != nil {
			s.log.Warn("find the node running a project whose secrets changed", "project_id", projectID, "err", err)
			return
		}
		if !ok {
			return
		}
		if !o.Self {
			if err := s.cluster.Tell(ctx, o, "/internal/projects/"+projectID+"/secrets-changed"); err != nil {
				s.log.Warn("restart the app after a secrets change", "project_id", projectID, "node", o.NodeID, "err", err)
			}
			return
		}
	}
	s.restartForSecrets(ctx, projectID)
}

func (s *Server) restartForSecrets(ctx context.Context, projectID string) {
	if _, err := s.runner.RestartIfRunning(ctx, projectID, secretsNote); err != nil {
		s.log.Warn("restart the app after a secrets change", "project_id", projectID, "err", err)
	}
}

// nodeSecretsChanged is another node's SecretsChanged for a project this
// node runs.
func (s *Server) nodeSecretsChanged(w http.ResponseWriter, r *http.Request) error {
	s.restartForSecrets(context.WithoutCancel(r.Context()), r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SuspendDeployment suspends the project's deployment for reason (a code,
// such as deploy.ReasonQuota) on the node running it: here when this node
// runs it or none does, else on that node (a signed call), which stops its
// instances, records the release as suspended and notifies the owner.
// When that node does not answer, the suspension is recorded here (the
// release row), so no node starts the app again.
func (s *Server) SuspendDeployment(ctx context.Context, projectID, reason string) (bool, error) {
	if s.cluster != nil {
		o, err := s.cluster.DeploymentOwner(ctx, projectID, false)
		if err == nil && o.NodeID != "" && !o.Self {
			err = s.cluster.Tell(ctx, o, "/internal/projects/"+projectID+"/deployment/suspend?reason="+url.QueryEscape(reason))
			if err == nil {
				return true, nil
			}
		}
		if err != nil {
			s.log.Warn("suspend a deployment on the node running it", "project_id", projectID, "node", o.NodeID, "err", err)
		}
	}
	return s.deploy.Suspend(ctx, projectID, reason)
}

// nodeSuspendDeployment is another node's SuspendDeployment for a
// deployment this node runs.
func (s *Server) nodeSuspendDeployment(w http.ResponseWriter, r *http.Request) error {
	reason := r.URL.Query().Get("reason")
	if reason == "" {
		return errBadRequest("a suspension needs a reason")
	}
	if _, err := s.deploy.Suspend(context.WithoutCancel(r.Context()), r.PathValue("id"), reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// StopRun stops the project's dev run for reason (a code, such as "quota")
// on the node running its sandbox: here when this node does or none does,
// else on that node (a signed call). It reports whether a run was going.
func (s *Server) StopRun(ctx context.Context, projectID, reason string) (bool, error) {
	if s.cluster != nil {
		o, ok, err := s.cluster.Holder(ctx, projectID)
		if err != nil {
			return false, err
		}
		if ok && !o.Self {
			return true, s.cluster.Tell(ctx, o, "/internal/projects/"+projectID+"/run/stop?reason="+url.QueryEscape(reason))
		}
	}
	return s.stopRunHere(projectID, reason)
}

// Outcome is what a call made for one project of several came to: done
// reports whether there was something to stop.
type Outcome struct {
	ProjectID string
	Done      bool
	Err       error
}

// maxNodeCalls bounds the calls StopRuns and SuspendDeployments make at once.
const maxNodeCalls = 8

// StopRuns is StopRun for several projects, some at once, so a node that
// does not answer holds up none of the others (each call to another node
// is bounded: cluster.Options.CallTimeout). Outcomes are in ids' order.
func (s *Server) StopRuns(ctx context.Context, ids []string, reason string) []Outcome {
	return eachProject(ctx, ids, func(ctx context.Context, id string) (bool, error) { return s.StopRun(ctx, id, reason) })
}

// SuspendDeployments is SuspendDeployment for several projects, as
// StopRuns.
func (s *Server) SuspendDeployments(ctx context.Context, ids []string, reason string) []Outcome {
	return eachProject(ctx, ids, func(ctx context.Context, id string) (bool, error) {
		return s.SuspendDeployment(ctx, id, reason)
	})
}

func eachProject(ctx context.Context, ids []string, fn func(context.Context, string) (bool, error)) []Outcome {
	out := make([]Outcome, len(ids))
	slots := make(chan struct{}, maxNodeCalls)
	var wg sync.WaitGroup
	for i, id := range ids {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			done, err := fn(ctx, id)
			out[i] = Outcome{ProjectID: id, Done: done, Err: err}
		})
	}
	wg.Wait()
	return out
}

func (s *Server) stopRunHere(projectID, reason string) (bool, error) {
	st := s.runner.RunState(projectID)
	if st.State != runner.StateStarting && st.State != runner.StateRunning {
		return false, nil
	}
	_, err := s.runner.StopRunFor(projectID, reason)
	return err == nil, err
}

// nodeStopRun is another node's StopRun for a project this node runs.
func (s *Server) nodeStopRun(w http.ResponseWriter, r *http.Request) error {
	reason := r.URL.Query().Get("reason")
	if reason == "" {
		return errBadRequest("stopping a run for another node needs a reason")
	}
	if _, err := s.stopRunHere(r.PathValue("id"), reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// nodeHandler serves nodeRoutes (to requests InternalHandler verified).
func (s *Server) nodeHandler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.nodeRoutes() {
		mux.Handle(rt.pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := rt.h(w, r); err != nil {
				s.writeError(w, r, err)
			}
		}))
	}
	return mux
}

func isNodeCall(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/internal/") }
