package agent

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"

	"ecode/internal/agent/fake"
)

// shotApp is an App whose preview carries a screenshot and console lines.
type shotApp struct {
	App
	res PreviewResult
}

func (a shotApp) Preview(context.Context, string) (PreviewResult, error) { return a.res, nil }

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func previewTranscript() *fake.Transcript {
	return &fake.Transcript{Name: "preview", Steps: []fake.Step{
		{Respond: fake.Respond{StopReason: "tool_use", Content: []fake.Content{fake.Tool("preview_check", map[string]any{"path": "/"})}}},
		{Expect: &fake.Expect{LastResultContains: "boom"}, Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text("The page logs an error.")}}},
	}}
}

func shotConfig(t *testing.T, prov Provider) (Config, []byte) {
	p := newProject(t)
	shot := testPNG(t, 64, 40)
	cfg := p.config(prov)
	cfg.Env.App = shotApp{App: p.app, res: PreviewResult{Status: 200, ContentType: "text/html", Body: "<h1>hi</h1>",
		Screenshot: shot, Console: []string{`console.error: "boom" (http://127.0.0.1/app.js:1)`}}}
	return cfg, shot
}

// The screenshot reaches the Anthropic API as an image block of the
// tool_result, next to the text with the console lines.
func TestPreviewScreenshotAnthropic(t *testing.T) {
	srv, prov := anthropicFake(t, previewTranscript())
	cfg, shot := shotConfig(t, prov)
	res := run(t, nil, cfg, "check the page", Mode{})
	noFailures(t, srv)
	if res.Stop != StopEndTurn || srv.StepsDone() != 2 {
		t.Fatalf("stop %s steps %d", res.Stop, srv.StepsDone())
	}
	reqs := srv.Requests()
	msgs := reqs[len(reqs)-1].Body["messages"].([]any)
	last := msgs[len(msgs)-1].(map[string]any)["content"].([]any)
	tr := last[0].(map[string]any)
	if tr["type"] != "tool_result" {
		t.Fatalf("first block %v", tr["type"])
	}
	var text string
	var img map[string]any
	for _, c := range tr["content"].([]any) {
		c := c.(map[string]any)
		switch c["type"] {
		case "text":
			text += c["text"].(string)
		case "image":
			img = c["source"].(map[string]any)
		}
	}
	if !strings.Contains(text, "boom") || !strings.Contains(text, "Browser console:") || !strings.Contains(text, "screenshot taken: 64x40") {
		t.Errorf("text %q", text)
	}
	if img == nil {
		t.Fatal("no image block in the tool_result")
	}
	if img["type"] != "base64" || img["media_type"] != "image/png" || img["data"] != base64.StdEncoding.EncodeToString(shot) {
		t.Errorf("image source %v %v (data %d chars)", img["type"], img["media_type"], len(img["data"].(string)))
	}
}

// OpenAI-compatible servers get the text only.
func TestPreviewScreenshotOpenAI(t *testing.T) {
	srv := fake.NewOpenAI(previewTranscript())
	defer srv.Close()
	prov := NewOpenAI(OpenAIConfig{APIKey: "test-key", BaseURL: srv.URL + "/v1"})
	cfg, _ := shotConfig(t, prov)
	cfg.Model = "qwen3-coder"
	res := run(t, nil, cfg, "check the page", Mode{})
	noFailures(t, srv)
	if res.Stop != StopEndTurn {
		t.Fatalf("stop %s", res.Stop)
	}
	reqs := srv.Requests()
	raw := string(reqs[len(reqs)-1].Raw)
	if !strings.Contains(raw, "screenshot taken: 64x40") || !strings.Contains(raw, "boom") {
		t.Errorf("tool message lacks the note or the console: %s", raw)
	}
	if strings.Contains(raw, "image_url") || strings.Contains(raw, "iVBOR") {
		t.Error("image sent to an OpenAI-compatible server")
	}
}

// The fake rejects images the real API would refuse.
func TestFakeRejectsBadImage(t *testing.T) {
	srv, prov := anthropicFake(t, &fake.Transcript{Steps: []fake.Step{{Respond: fake.Respond{StopReason: "end_turn", Content: []fake.Content{fake.Text("ok")}}}}})
	req := Request{Model: "claude-sonnet-4-5", MaxTokens: 1000, Messages: []Message{
		{Role: RoleUser, Blocks: []Block{{Type: BlockText, Text: "hi"}}},
		{Role: RoleAssistant, Blocks: []Block{{Type: BlockToolUse, ID: "toolu_1", Name: "preview_check", Input: []byte(`{}`)}}},
		{Role: RoleUser, Blocks: []Block{{Type: BlockToolResult, ToolUseID: "toolu_1", Content: "ok", Images: []Image{{MediaType: "image/bmp", Data: "AAAA"}}}}},
	}}
	_, err := prov.Stream(context.Background(), req, func(StreamEvent) {})
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.Status != 400 || !strings.Contains(pe.Message, "media_type") {
		t.Fatalf("err %v", err)
	}
	if len(srv.Failures()) != 1 {
		t.Errorf("failures %v", srv.Failures())
	}
}

func TestPreviewNoScreenshot(t *testing.T) {
	out := toolPreview(context.Background(), &toolCtx{env: Env{App: shotApp{res: PreviewResult{Status: 200, Body: "x"}}}}, map[string]any{})
	if len(out.Images) != 0 || strings.Contains(out.Text, "screenshot") || strings.Contains(out.Text, "console") {
		t.Errorf("%+v", out)
	}
}
