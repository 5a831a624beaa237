package config

import (
	"strings"
	"testing"
)

func TestAgentProviderOptions(t *testing.T) {
	c, err := Load("t", nil, env(map[string]string{"ANTHROPIC_API_KEY": "sk-std", "ANTHROPIC_BASE_URL": "http://fake",
		"OPENAI_BASE_URL": "http://ollama/v1", "OPENAI_API_KEY": "sk-oai", "ECODE_AGENT_MODEL": "m1"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AnthropicAPIKey != "sk-std" || c.AnthropicBaseURL != "http://fake" || c.OpenAIBaseURL != "http://ollama/v1" || c.OpenAIAPIKey != "sk-oai" || c.AgentModel != "m1" {
		t.Errorf("standard variables not read: %+v", c)
	}
	dump := c.Dump()
	if strings.Contains(dump, "sk-std") || strings.Contains(dump, "sk-oai") || !strings.Contains(dump, "ECODE_ANTHROPIC_API_KEY=xxxxx") {
		t.Errorf("dump shows keys:\n%s", dump)
	}
	c, err = Load("t", []string{"--openai-api-key", "sk-flag"}, env(map[string]string{"ANTHROPIC_API_KEY": "sk-std", "ECODE_ANTHROPIC_API_KEY": "sk-ecode", "OPENAI_API_KEY": "sk-oai"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AnthropicAPIKey != "sk-ecode" || c.OpenAIAPIKey != "sk-flag" {
		t.Errorf("ECODE_ variable must beat the standard one, flags beat both: %+v", c)
	}
}
