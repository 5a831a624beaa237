package agentrun

import (
	"context"
	"errors"
	"strings"

	"ecode/internal/agent"
)

// redactedMark replaces a credential found in a provider's error.
const redactedMark = "[REDACTED]"

// redactingProvider wraps a provider so that its errors never carry a
// configured credential: a server (or a proxy, or a misconfigured base URL)
// that echoes the request's Authorization or x-api-key header in an error
// body would otherwise put the key in turn events that every project member
// reads, in the store and in the log.
type redactingProvider struct {
	agent.Provider
	secrets []string
}

func (p redactingProvider) Stream(ctx context.Context, req agent.Request, fn func(agent.StreamEvent)) (*agent.Response, error) {
	resp, err := p.Provider.Stream(ctx, req, fn)
	return resp, redactError(err, p.secrets)
}

// withRedaction wraps prov (nil stays nil) to redact the credentials the
// server knows: the one prov uses and every configured one.
func (s *Service) withRedaction(prov agent.Provider, key string) agent.Provider {
	if prov == nil {
		return nil
	}
	var secrets []string
	for _, k := range []string{key, s.cfg.AnthropicAPIKey, s.cfg.OpenAIAPIKey} {
		if len(k) >= 4 {
			secrets = append(secrets, k)
		}
	}
	return redactingProvider{Provider: prov, secrets: secrets}
}

// redactError returns err with every secret in its text replaced. A
// ProviderError keeps its kind, status and retry hints; other errors are
// replaced only when their text holds a secret (so context errors and the
// like stay comparable with errors.Is).
func redactError(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	var pe *agent.ProviderError
	if errors.As(err, &pe) {
		c := *pe
		c.Message, c.Type, c.Code = redact(c.Message, secrets), redact(c.Type, secrets), redact(c.Code, secrets)
		return &c
	}
	if msg := err.Error(); redact(msg, secrets) != msg {
		return errors.New(redact(msg, secrets))
	}
	return err
}

// redact replaces every occurrence of each secret in s.
func redact(s string, secrets []string) string {
	for _, k := range secrets {
		if k != "" && strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, redactedMark)
		}
	}
	return s
}
