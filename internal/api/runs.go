package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"ecode/internal/billing"
	"ecode/internal/runner"
)

// sandboxReady refuses to run code when the sandbox does not work here.
func (s *Server) sandboxReady(r *http.Request) error {
	if err := s.runner.Check(r.Context()); err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "cannot run code: " + err.Error()}
	}
	return nil
}

func (s *Server) runConfig(w http.ResponseWriter, r *http.Request) error {
	cfg, detected, err := s.runner.Config(project(r).ID)
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: err.Error()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": cfg.Run, "build": cfg.Build, "install": cfg.Install,
		"port": cfg.Port, "env": cfg.Env, "detected": detected})
	return nil
}

type execRequest struct {
	Command  string `json:"command"`
	TimeoutS int    `json:"timeout_s,omitempty"`
}

func (q *execRequest) validate() map[string]string {
	f := map[string]string{}
	if strings.TrimSpace(q.Command) == "" || len(q.Command) > 64<<10 {
		f["command"] = "must be a shell command (at most 64 KiB)"
	}
	if q.TimeoutS == 0 {
		q.TimeoutS = 60
	}
	if q.TimeoutS < 1 || q.TimeoutS > 3600 {
		f["timeout_s"] = "must be between 1 and 3600"
	}
	return f
}

func (s *Server) exec(w http.ResponseWriter, r *http.Request) error {
	var q execRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	if err := s.sandboxReady(r); err != nil {
		return err
	}
	if err := s.allowRun(r, billing.WorkExec); err != nil {
		return err
	}
	release, err := s.execSlot(w, r)
	if err != nil {
		return err
	}
	defer release()
	s.flush(r, "")
	res, err := s.runner.Exec(r.Context(), project(r).ID, q.Command, time.Duration(q.TimeoutS)*time.Second)
	if err != nil {
		return err
	}
	body := map[string]any{"exit_code": res.ExitCode, "stdout": string(res.Stdout), "stderr": string(res.Stderr),
		"duration_ms": res.Duration.Milliseconds(), "truncated": res.StdoutTruncated || res.StderrTruncated,
		"stdout_truncated": res.StdoutTruncated, "stderr_truncated": res.StderrTruncated}
	if res.Reason != "" {
		body["reason"] = res.Reason
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// runStateJSON adds the preview URL to a run state.
func (s *Server) runStateJSON(r *http.Request, st runner.RunState) map[string]any {
	out := map[string]any{"state": st.State, "listening": st.Listening}
	add := func(k string, v any, ok bool) {
		if ok {
			out[k] = v
		}
	}
	add("run_id", st.RunID, st.RunID != "")
	add("command", st.Command, st.Command != "")
	add("exit_code", st.ExitCode, st.ExitCode != nil)
	add("reason", st.Reason, st.Reason != "")
	add("port", st.Port, st.Port != 0)
	add("started_at", st.StartedAt, st.StartedAt != nil)
	add("ended_at", st.EndedAt, st.EndedAt != nil)
	add("preview_url", s.previewOrigin(r, project(r).ID)+"/", st.Port != 0)
	add("phase", st.Phase, st.Phase != "")
	// The limits a run can hit, so that "out of memory" can say which limit.
	l := s.runner.LimitsOf(project(r).ID)
	limits := map[string]any{"memory_bytes": l.MemoryBytes, "max_procs": l.MaxProcs, "tmp_bytes": l.TmpBytes}
	out["limits"] = limits
	return out
}

func (s *Server) startRun(w http.ResponseWriter, r *http.Request) error {
	if err := s.sandboxReady(r); err != nil {
		return err
	}
	if err := s.allowRun(r, billing.WorkRun); err != nil {
		return err
	}
	release, err := s.execSlot(w, r)
	if err != nil {
		return err
	}
	defer release()
	s.flush(r, "") // the program sees exactly the text on screen
	st, err := s.runner.StartRun(r.Context(), project(r).ID)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return err
		}
		if strings.Contains(err.Error(), ".ecode.toml") {
			return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: err.Error()}
		}
		return err
	}
	writeJSON(w, http.StatusAccepted, s.runStateJSON(r, st))
	return nil
}

func (s *Server) stopRun(w http.ResponseWriter, r *http.Request) error {
	st, err := s.runner.StopRun(project(r).ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.runStateJSON(r, st))
	return nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.runStateJSON(r, s.runner.RunState(project(r).ID)))
	return nil
}

// runOutput streams the run's output and state changes as Server-Sent
// Events. Event ids are "<run id>:<offset>" so a reconnect resumes exactly.
// A "caught-up" event follows the backlog sent on connect.
func (s *Server) runOutput(w http.ResponseWriter, r *http.Request) error {
	rc := http.NewResponseController(w)
	resumeRun, offset := parseEventID(r)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	var sentState, sentRun string
	caughtUp := false
	runID := resumeRun
	for {
		changed := s.runner.Changed()
		run := s.runner.CurrentRun(project(r).ID)
		st := runner.RunState{State: runner.StateIdle}
		if run != nil {
			st = run.Snapshot()
		}
		sendState := func() {
			if js := mustJSON(s.runStateJSON(r, st)); js != sentState {
				fmt.Fprintf(w, "event: state\ndata: %s\n\n", js)
				sentState, sentRun = js, st.RunID
			}
		}
		// A new run is announced before its output; otherwise output comes
		// first, so that a run's final state follows all of its output.
		if st.RunID != sentRun {
			sendState()
		}
		var more <-chan struct{}
		if run != nil {
			if run.ID != runID {
				runID, offset = run.ID, 0
			}
			data, next, wait, done := run.Output.ReadFrom(offset)
			data, next = completeUTF8(data, next)
			if len(data) > 0 {
				fmt.Fprintf(w, "event: output\nid: %s:%d\ndata: %s\n\n", run.ID, next, mustJSON(map[string]string{"data": string(data)}))
			}
			offset = next
			if !done {
				more = wait // a finished log has nothing more to wait for
			}
		}
		sendState()
		if !caughtUp {
			fmt.Fprint(w, "event: caught-up\ndata: {}\n\n")
			caughtUp = true
		}
		if err := rc.Flush(); err != nil {
			return nil // the client is gone
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-changed:
		case <-more:
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
		}
	}
}

func parseEventID(r *http.Request) (runID string, offset int64) {
	id := r.Header.Get("Last-Event-ID")
	if id == "" {
		id = r.URL.Query().Get("since")
	}
	run, off, ok := strings.Cut(id, ":")
	if !ok {
		return "", 0
	}
	n, err := strconv.ParseInt(off, 10, 64)
	if err != nil || n < 0 {
		return "", 0
	}
	return run, n
}

// completeUTF8 holds back a multi-byte character cut at the end of a chunk
// so it is sent whole with the next one.
func completeUTF8(data []byte, next int64) ([]byte, int64) {
	for cut := 1; cut <= 3 && cut <= len(data); cut++ {
		b := data[len(data)-cut]
		if b < 0x80 {
			break
		}
		if utf8.RuneStart(b) {
			if !utf8.FullRune(data[len(data)-cut:]) {
				return data[:len(data)-cut], next - int64(cut)
			}
			break
		}
	}
	return data, next
}
