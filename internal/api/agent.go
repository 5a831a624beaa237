package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ecode/internal/agent"
	"ecode/internal/agentrun"
	"ecode/internal/billing"
)

type agentRequest struct {
	Prompt    string `json:"prompt"`
	Thinking  bool   `json:"thinking,omitempty"`
	HighPower bool   `json:"high_power,omitempty"`
	WebSearch bool   `json:"web_search,omitempty"`
	Level     string `json:"level,omitempty"` // the user's complexity level (turns and quotes); "": classified
}

func (q *agentRequest) validate() map[string]string {
	f := map[string]string{}
	if strings.TrimSpace(q.Prompt) == "" || len(q.Prompt) > 100<<10 {
		f["prompt"] = "must be a request to the agent (at most 100 KiB)"
	}
	if q.Level != "" && !billing.ValidLevel(q.Level) {
		f["level"] = "must be one of " + strings.Join(billing.Levels, ", ")
	}
	return f
}

func (q *agentRequest) mode() agent.Mode {
	return agent.Mode{ExtendedThinking: q.Thinking, HighPower: q.HighPower, WebSearch: q.WebSearch}
}

// agentReady refuses agent requests when no model provider is configured.
func (s *Server) agentReady(r *http.Request) error {
	if st := s.agent.Status(r.Context(), principal(r).User.IsAdmin); !st.Configured {
		return &Error{Status: http.StatusServiceUnavailable, Code: "agent_unconfigured", Message: "the AI agent is not configured: " + st.Help}
	}
	return nil
}

func (s *Server) agentStatus(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.agent.Status(r.Context(), principal(r).User.IsAdmin))
	return nil
}

func (s *Server) agentQuote(w http.ResponseWriter, r *http.Request) error {
	var q agentRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	if err := s.agentReady(r); err != nil {
		return err
	}
	quote, err := s.agent.Quote(r.Context(), project(r).ID, q.Prompt, q.mode())
	if err != nil {
		return err
	}
	bq, err := s.billing.Quote(r.Context(), billing.QuoteRequest{Prompt: q.Prompt, Thinking: q.Thinking, HighPower: q.HighPower,
		WebSearch: q.WebSearch, Level: q.Level})
	if err != nil {
		return err
	}
	out := quoteJSON(quote)
	out["level"], out["multiplier"], out["multiplier_milli"] = bq.Level, bq.Multiplier, bq.MultiplierMilli
	out["price_min_micros"], out["price_max_micros"], out["cap_micros"] = bq.PriceMinMicros, bq.PriceMaxMicros, bq.CapMicros
	out["level_source"], out["level_reason"], out["levels"] = bq.Source, bq.Reason, billing.Levels
	// Whether the account may start the turn now (the refusal's message otherwise).
	if err := s.allow(r, principal(r).User.ID, billing.WorkAgent); err != nil {
		if be, ok := billingError(err); ok {
			out["refusal"] = map[string]any{"code": be.Code, "message": be.Message, "fields": be.Fields}
		} else {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func quoteJSON(q agent.Quote) map[string]any {
	l := q.Limits
	return map[string]any{
		"model": q.Model.ID, "max_output_tokens": q.MaxTokens, "web_search": q.WebSearch,
		"thinking": map[string]any{"kind": q.Thinking.Kind, "effort": q.Thinking.Effort, "budget": q.Thinking.Budget},
		"limits": map[string]any{"max_steps": l.MaxSteps, "max_wall_s": int64(l.MaxWall / time.Second), "max_tokens": l.MaxTokens,
			"max_cost_usd": l.MaxCostUSD, "max_output_tokens": l.MaxOutputTokens},
		"first_call_max_usd": q.FirstCallMaxUSD, "max_usd": q.MaxUSD, "price_checked": q.PriceChecked,
	}
}

// agentTurn starts a turn and streams its events as Server-Sent Events.
// The turn outlives the request: a client that goes away can watch it again
// with GET .../agent/stream, and only .../agent/stop cancels it.
func (s *Server) agentTurn(w http.ResponseWriter, r *http.Request) error {
	var q agentRequest
	if err := decode(w, r, &q); err != nil {
		return err
	}
	if err := s.agentReady(r); err != nil {
		return err
	}
	t, err := s.agent.StartLevel(r.Context(), project(r).ID, principal(r).User.ID, q.Prompt, q.mode(), q.Level)
	switch {
	case errors.Is(err, agentrun.ErrBusy):
		return errConflict(err.Error())
	case errors.Is(err, agentrun.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: err.Error()}
	case err != nil:
		return err
	}
	return s.streamTurn(w, r, t)
}

// agentStream watches the project's running turn from its start (204 when none runs).
func (s *Server) agentStream(w http.ResponseWriter, r *http.Request) error {
	t := s.agent.Running(project(r).ID)
	if t == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return s.streamTurn(w, r, t)
}

func (s *Server) streamTurn(w http.ResponseWriter, r *http.Request, t *agentrun.Turn) error {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "event: turn\ndata: %s\n\n", mustJSON(map[string]string{"turn_id": t.ID}))
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	next := 0
	for {
		evs, more, ended := t.Events(next)
		for _, e := range evs {
			fmt.Fprintf(w, "event: %s\nid: %d\ndata: %s\n\n", e.Type, e.Seq, mustJSON(e))
		}
		next += len(evs)
		if err := rc.Flush(); err != nil {
			return nil // the client is gone; the turn goes on
		}
		if ended && len(evs) == 0 {
			break
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-more:
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
		}
	}
	select {
	case <-t.Done():
	case <-r.Context().Done():
		return nil
	}
	res, err := t.Result()
	final := map[string]any{"turn_id": t.ID, "result": res}
	if quote, charged := t.Billing(); quote != nil {
		final["quote"], final["charged_micros"] = quote, charged
	}
	if err != nil {
		final["error"] = err.Error()
	}
	fmt.Fprintf(w, "event: result\ndata: %s\n\n", mustJSON(final))
	rc.Flush()
	return nil
}

func (s *Server) agentStop(w http.ResponseWriter, r *http.Request) error {
	stopped := s.agent.Stop(project(r).ID)
	writeJSON(w, http.StatusOK, map[string]bool{"stopped": stopped})
	return nil
}

func (s *Server) agentTurns(w http.ResponseWriter, r *http.Request) error {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return errInvalid(map[string]string{"limit": "must be between 1 and 200"})
		}
		limit = n
	}
	turns, err := s.agent.Turns(r.Context(), project(r).ID, limit)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for _, t := range turns {
		evs := make([]json.RawMessage, len(t.Events))
		for i, e := range t.Events {
			evs[i] = e.Data
		}
		out = append(out, map[string]any{"id": t.ID, "user_id": t.UserID, "prompt": t.Prompt, "mode": t.Mode,
			"status": t.Status, "stop_reason": t.StopReason, "result": t.Result, "created_at": t.CreatedAt,
			"finished_at": t.FinishedAt, "events": evs})
	}
	body := map[string]any{"turns": out, "running": nil}
	if rt := s.agent.Running(project(r).ID); rt != nil {
		body["running"] = rt.ID
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
