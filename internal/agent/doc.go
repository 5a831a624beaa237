// Package agent is E-Code's autonomous coding agent: model providers behind one
// streaming interface (Anthropic Messages through anthropic-sdk-go/v2, always
// streaming, and OpenAI-compatible chat completions through openai-go/v3 for
// Ollama, vLLM and llama.cpp), the tool set, and the turn loop with retries,
// a stall watchdog, caps refused before they are crossed, a loop detector and
// context trimming.
//
// The agent reaches the project only through interfaces it declares (Files,
// Shell, App, Packages, Database, Secrets, Redactor, Checkpointer, Persister,
// grouped in Env) and reports every event of a turn to a Sink. Wiring:
//
//	prov := agent.NewAnthropic(agent.AnthropicConfig{APIKey: cfg.AnthropicKey, BaseURL: cfg.AnthropicBaseURL})
//	a, _ := agent.New(agent.Config{Provider: prov, Env: env, Sink: sink})
//	q := a.Quote(sess, text, mode) // limits and maximum cost, before sending
//	res, err := a.Run(ctx, sess, text, mode)
//
// A Session is plain JSON: persist it between turns. A turn that ends with
// StopWaitingForUser resumes when Run is called with the user's answer.
// Time comes from the injected Clock (a manual clock in the tests); nothing here reads
// the environment.
package agent
