package agentrun

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"ecode/internal/agent"
)

func TestRedactError(t *testing.T) {
	secrets := []string{"sk-secret-1234", "other-key-99"}
	pe := &agent.ProviderError{Kind: agent.ErrHTTP, Status: 401, Message: "bad key sk-secret-1234 (Bearer other-key-99)"}
	got := redactError(fmt.Errorf("call: %w", pe), secrets)
	var out *agent.ProviderError
	if !errors.As(got, &out) || out.Status != 401 || strings.Contains(got.Error(), "secret") || strings.Contains(got.Error(), "other-key") ||
		!strings.Contains(got.Error(), "[REDACTED]") {
		t.Fatalf("redacted provider error: %v", got)
	}
	if pe.Message != "bad key sk-secret-1234 (Bearer other-key-99)" {
		t.Error("the original error was changed")
	}
	if err := redactError(context.Canceled, secrets); !errors.Is(err, context.Canceled) {
		t.Errorf("an error without secrets was replaced: %v", err)
	}
	if err := redactError(errors.New("dial: sk-secret-1234"), secrets); strings.Contains(err.Error(), "sk-secret") {
		t.Errorf("plain error kept the secret: %v", err)
	}
	if redactError(nil, secrets) != nil {
		t.Error("nil became an error")
	}
}
