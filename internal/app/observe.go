package app

import (
	"context"
	"time"

	"ecode/internal/agent"
	"ecode/internal/config"
	"ecode/internal/tracing"
)

// buildTracing makes the tracer provider (--otlp-endpoint, or the test's
// exporter; otherwise a no-op one). Close shuts it down last, so the spans
// of the shutdown go out too.
func (s *Server) buildTracing(cfg *config.Config, d Deps) error {
	tp, err := tracing.New(tracing.Options{Endpoint: cfg.OTLPEndpoint, Exporter: d.Spans, Version: Version,
		SampleRatio: cfg.OTLPSampleRatio()})
	if err != nil {
		return err
	}
	s.Tracing = tp
	s.onClose(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return tp.Shutdown(ctx)
	})
	return nil
}

// observeTurn counts an ended agent turn in the metrics.
func (s *Server) observeTurn(res *agent.Result) {
	u := res.Metrics.Usage
	s.Metrics.AgentTurn(string(res.Stop), u.InputTokens, u.OutputTokens, u.CacheReadTokens,
		u.CacheWriteTokens+u.CacheWrite1hTokens, res.Metrics.CostUSD)
}
