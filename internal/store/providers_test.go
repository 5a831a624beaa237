package store_test

import (
	"context"
	"errors"
	"testing"

	"ecode/internal/store"
	"ecode/internal/testutil"
)

func TestAgentProviderSettings(t *testing.T) {
	testutil.ForEachEngine(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if _, err := st.AgentProvider(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no settings: %v", err)
		}
		p := store.AgentProvider{Provider: "anthropic", BaseURL: "http://fake", APIKeySealed: "c2VhbGVk", APIKeyHint: "abcd",
			Model: "claude-sonnet-4-5", UpdatedBy: "u1", UpdatedAt: t0}
		if err := st.SetAgentProvider(ctx, p); err != nil {
			t.Fatal(err)
		}
		if got, err := st.AgentProvider(ctx); err != nil || got != p {
			t.Fatalf("got %+v, %v", got, err)
		}
		p2 := store.AgentProvider{Provider: "openai", BaseURL: "http://ollama:11434/v1", Model: "qwen3-coder", UpdatedAt: t0}
		if err := st.SetAgentProvider(ctx, p2); err != nil {
			t.Fatal(err)
		}
		if got, err := st.AgentProvider(ctx); err != nil || got != p2 {
			t.Fatalf("replaced: %+v, %v", got, err)
		}
		for range 2 {
			if err := st.DeleteAgentProvider(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.AgentProvider(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})
}
