package agentrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"ecode/internal/agent"
	"ecode/internal/runner"
	"ecode/internal/store"
	"ecode/internal/workspace"
)

// maxAgentFile bounds what the agent reads or writes in one file.
const maxAgentFile = 10 << 20

// files is agent.Files over the project's files (paths confined by workspace).
type files struct {
	ws        *workspace.Files
	projectID string
	changed   func(ctx context.Context, projectID, path string) // nil: nobody to tell
	// edit, when set, applies a write to the file's open editors as a
	// live edit (Deps.AgentEdit); on error the file is written instead.
	edit func(ctx context.Context, projectID, path, text string) error
}

func (f files) open() (*workspace.Project, error) { return f.ws.Project(f.projectID) }

func (f files) ReadFile(_ context.Context, p string) ([]byte, error) {
	pr, err := f.open()
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	b, err := pr.ReadFile(p, maxAgentFile)
	return b, notExist(err)
}

// notExist makes workspace's "no such file" an fs.ErrNotExist for the agent.
func notExist(err error) error {
	if errors.Is(err, workspace.ErrNotExist) {
		return fmt.Errorf("%w (%v)", fs.ErrNotExist, err)
	}
	return err
}

func (f files) WriteFile(ctx context.Context, p string, data []byte) error {
	if f.edit != nil && len(data) <= maxAgentFile && utf8.Valid(data) {
		if err := f.edit(ctx, f.projectID, p, string(data)); err == nil {
			return nil
		}
	}
	pr, err := f.open()
	if err != nil {
		return err
	}
	defer pr.Close()
	if _, err = pr.WriteFile(p, bytes.NewReader(data), maxAgentFile); err != nil {
		return err
	}
	if f.changed != nil {
		f.changed(ctx, f.projectID, p)
	}
	return nil
}

func (f files) Walk(_ context.Context, dir string, fn func(string, bool, int64) error) error {
	pr, err := f.open()
	if err != nil {
		return err
	}
	defer pr.Close()
	top, err := pr.Tree()
	if err != nil {
		return err
	}
	dir = strings.Trim(dir, "/")
	if dir == "." {
		dir = ""
	}
	start := top
	if dir != "" {
		start = find(top, dir)
		if start == nil {
			return fmt.Errorf("%s: %w", dir, fs.ErrNotExist)
		}
	}
	var visit func(e *workspace.Entry) error
	visit = func(e *workspace.Entry) error {
		name := e.Path
		if name == "" {
			name = "."
		}
		if err := fn(name, e.Type == "dir", e.Size); err != nil {
			if errors.Is(err, fs.SkipDir) {
				return nil
			}
			return err
		}
		for _, c := range e.Children {
			if err := visit(c); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(start)
}

func find(e *workspace.Entry, p string) *workspace.Entry {
	if e.Path == p {
		return e
	}
	for _, c := range e.Children {
		if c.Path == p || strings.HasPrefix(p, c.Path+"/") {
			return find(c, p)
		}
	}
	return nil
}

// shell is agent.Shell over the project's sandbox.
type shell struct {
	run       *runner.Manager
	projectID string
	use       string // for the secrets' audit: "agent" (empty: "exec")
}

func (s shell) Exec(ctx context.Context, command string, timeout time.Duration) (agent.ExecResult, error) {
	use := s.use
	if use == "" {
		use = "exec"
	}
	res, err := s.run.ExecAs(ctx, s.projectID, use, command, timeout)
	if err != nil {
		return agent.ExecResult{}, err
	}
	out := string(res.Stdout)
	if len(res.Stderr) > 0 {
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += string(res.Stderr)
	}
	return agent.ExecResult{Output: out, ExitCode: res.ExitCode, TimedOut: res.Reason == "timeout"}, nil
}

// app is agent.App over the project's run and its preview.
type app struct {
	run       *runner.Manager
	projectID string
	// wait bounds how long Control waits for a started app to listen.
	wait time.Duration
	// shot bounds a page's capture by Chromium (0: shotTimeout).
	shot time.Duration
}

func (a app) Control(ctx context.Context, action string) (agent.AppStatus, error) {
	if action == "stop" {
		st, err := a.run.StopRun(a.projectID)
		if err != nil {
			return agent.AppStatus{}, err
		}
		return agent.AppStatus{Message: "state " + st.State}, nil
	}
	st, err := a.run.StartRun(ctx, a.projectID)
	if err != nil {
		return agent.AppStatus{}, err
	}
	// wait until it listens, ends, or the wait is over
	deadline := time.NewTimer(a.wait)
	defer deadline.Stop()
	for st.State == runner.StateStarting {
		changed := a.run.Changed()
		if st = a.run.RunState(a.projectID); st.State != runner.StateStarting {
			break
		}
		select {
		case <-changed:
		case <-deadline.C:
			return agent.AppStatus{Running: true, Message: "the app has not opened its port yet; check app_logs"}, nil
		case <-ctx.Done():
			return agent.AppStatus{}, ctx.Err()
		}
	}
	switch st.State {
	case runner.StateRunning:
		msg := "command: " + st.Command
		url := ""
		if st.Port != 0 {
			url = fmt.Sprintf("the preview (port %d)", st.Port)
		}
		return agent.AppStatus{Running: true, URL: url, Message: msg}, nil
	}
	code := ""
	if st.ExitCode != nil {
		code = fmt.Sprintf(" with code %d", *st.ExitCode)
	}
	return agent.AppStatus{Message: fmt.Sprintf("the app %s%s %s; check app_logs", st.State, code, st.Reason)}, nil
}

func (a app) Logs(_ context.Context, tail int) (string, error) {
	r := a.run.CurrentRun(a.projectID)
	if r == nil {
		return "", nil
	}
	data, _, _, _ := r.Output.ReadFrom(0)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > tail {
		lines = lines[len(lines)-tail:]
	}
	return strings.Join(lines, "\n"), nil
}

func (a app) Preview(ctx context.Context, p string) (agent.PreviewResult, error) {
	st := a.run.RunState(a.projectID)
	if st.State != runner.StateRunning || st.Port == 0 {
		return agent.PreviewResult{}, fmt.Errorf("the app is not running (state %s)", st.State)
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return a.run.Dial(ctx, a.projectID, st.Port)
	}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	// the page's fetch has 30 s; the capture after it has a budget of its
	// own (shotTimeout), not what the fetch left over
	fetchCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(fetchCtx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", st.Port, p), nil)
	if err != nil {
		return agent.PreviewResult{}, err
	}
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		return agent.PreviewResult{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	res := agent.PreviewResult{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: string(b)}
	// a page: with Chromium installed, its screenshot and console too
	if chromiumInstalled() && strings.Contains(strings.ToLower(res.ContentType), "html") {
		limit := a.shot
		if limit == 0 {
			limit = shotTimeout
		}
		sh, err := capturePage(ctx, a.run, a.projectID, st.Port, p, limit)
		if err != nil {
			res.Console = []string{"[e-code] no screenshot: " + err.Error()}
		} else {
			res.Screenshot, res.Console = sh.PNG, sh.Console
		}
	}
	return res, nil
}

// persister saves the project's conversation after every step.
type persister struct {
	st        *store.Store
	projectID string
	now       func() time.Time
	redact    func(string) string // masks secret values in the stored JSON
}

func (p persister) SaveSession(ctx context.Context, s *agent.Session) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if p.redact != nil {
		b = []byte(p.redact(string(b)))
	}
	return p.st.SaveAgentSession(context.WithoutCancel(ctx), p.projectID, b, p.now())
}

// identity is the Redactor of a server without project secrets.
type identity struct{}

func (identity) Redact(s string) string { return s }

// checkpointer is agent.Checkpointer over the product's checkpoint history.
type checkpointer struct {
	fn                func(ctx context.Context, projectID, userID, label string, cost agent.TurnCost) (string, error)
	projectID, userID string
}

func (c checkpointer) Checkpoint(ctx context.Context, label string, cost agent.TurnCost) (string, error) {
	// a cancelled turn that changed files is checkpointed too
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if label == "" {
		label = "Agent turn"
	}
	return c.fn(ctx, c.projectID, c.userID, label, cost)
}
