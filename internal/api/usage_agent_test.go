package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"ecode/internal/agent/fake"
	"ecode/internal/agentrun"
	"ecode/internal/billing"
)

// A turn that would cost more than its quote is stopped by the agent loop's
// money limit (the quote's cap) and charged at most the quote.
func TestAgentTurnStoppedAtTheQuoteCap(t *testing.T) {
	fk := fake.NewAnthropic(&fake.Transcript{Name: "costly", Steps: []fake.Step{
		{Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text("never reached")}}},
	}})
	t.Cleanup(fk.Close)
	srv := agentServer(t, agentrun.Config{AnthropicAPIKey: "test-key", AnthropicBaseURL: fk.URL})
	ctx := context.Background()
	pb := billing.DefaultPriceBook()
	pb.AgentBaseMicros, pb.CapFactor = 100_000, 1 // a simple turn: at most $0.10, less than one call's worst case
	if err := srv.Billing.SetPriceBook(ctx, pb); err != nil {
		t.Fatal(err)
	}
	c := srv.User(t, "capped")
	p, err := c.CreateProject(ctx, "capped", "")
	if err != nil {
		t.Fatal(err)
	}
	var q billing.Quote
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/agent/quote", strings.NewReader(`{"prompt":"x","level":"simple"}`), "application/json", &q); err != nil ||
		q.Level != "simple" || q.CapMicros != 100_000 {
		t.Fatalf("quote %+v, %v", q, err)
	}
	resp, err := c.Raw(ctx, "POST", "/api/projects/"+p.ID+"/agent/turns", strings.NewReader(`{"prompt":"build everything","level":"simple"}`), "application/json")
	if err != nil {
		t.Fatal(err)
	}
	evs := readAgentSSE(t, resp.Body)
	resp.Body.Close()
	var final struct {
		Result struct {
			Stop string `json:"stop_reason"`
		} `json:"result"`
		Quote   billing.Quote `json:"quote"`
		Charged int64         `json:"charged_micros"`
	}
	if err := json.Unmarshal([]byte(evs[len(evs)-1].Data), &final); err != nil {
		t.Fatal(err)
	}
	if final.Result.Stop != "cap_cost" || final.Charged > final.Quote.CapMicros || final.Quote.CapMicros != 100_000 {
		t.Fatalf("turn: %+v, want stopped at the cap and charged at most 100000", final)
	}
	if len(fk.Requests()) != 0 {
		t.Fatalf("the model was called %d times past the cap", len(fk.Requests()))
	}
}
