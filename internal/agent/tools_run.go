// The agent's tools that run things in the sandbox and the app, and talk
// to the user (todo list, questions, secrets).

package agent

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// headTail keeps the start and the end of long output.
func headTail(s string, head, tail int) string {
	if len(s) <= head+tail {
		return s
	}
	cut := strings.Count(s[head:len(s)-tail], "\n")
	return s[:head] + fmt.Sprintf("\n[… %d bytes, %d lines cut …]\n", len(s)-head-tail, cut) + s[len(s)-tail:]
}

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]")

func toolBash(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	cmd := sArg(in, "command")
	if strings.TrimSpace(cmd) == "" {
		return errOut("command is required")
	}
	first := strings.Fields(cmd)[0]
	if slices.Contains([]string{"vim", "vi", "nano", "less", "more", "top", "emacs"}, first) {
		return errOut("%s is interactive and cannot run here; use read/edit instead", first)
	}
	to := time.Duration(iArg(in, "timeout_ms", int(bashDefTimeout/time.Millisecond))) * time.Millisecond
	to = min(max(to, time.Second), bashMaxTimeout)
	res, err := t.env.Shell.Exec(ctx, cmd, to)
	if err != nil {
		return errOut("bash: %v", err)
	}
	out := headTail(ansiRE.ReplaceAllString(res.Output, ""), outHead, outTail)
	switch {
	case res.TimedOut:
		return toolOutput{Text: out + fmt.Sprintf("\n[timed out after %s; the command was killed]", to), IsError: true}
	case res.ExitCode != 0:
		return toolOutput{Text: out + fmt.Sprintf("\nexit code: %d", res.ExitCode), IsError: true}
	}
	if out == "" {
		out = "(no output)"
	}
	return toolOutput{Text: out}
}

func toolRunApp(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	a := sArg(in, "action")
	if a != "start" && a != "stop" && a != "restart" {
		return errOut("action must be start, stop or restart")
	}
	st, err := t.env.App.Control(ctx, a)
	if err != nil {
		return errOut("run_app %s: %v", a, err)
	}
	state := "stopped"
	if st.Running {
		state = "running at " + st.URL
	}
	return toolOutput{Text: strings.TrimSpace(fmt.Sprintf("app %s. %s", state, st.Message))}
}

func toolAppLogs(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	s, err := t.env.App.Logs(ctx, min(max(iArg(in, "tail", 200), 1), 2000))
	if err != nil {
		return errOut("app_logs: %v", err)
	}
	if s == "" {
		s = "(no output)"
	}
	return toolOutput{Text: headTail(ansiRE.ReplaceAllString(s, ""), outHead, outTail)}
}

func toolPreview(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	p := sArg(in, "path")
	if p == "" {
		p = "/"
	}
	r, err := t.env.App.Preview(ctx, p)
	if err != nil {
		return errOut("preview %s: %v (is the app running? use run_app)", p, err)
	}
	body := r.Body
	if len(body) > 2000 {
		body = body[:2000] + "\n[… body cut]"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s → %d %s\n%s", p, r.Status, r.ContentType, body)
	if len(r.Console) > 0 {
		b.WriteString("\n\nBrowser console:\n")
		for i, l := range r.Console {
			if i == previewMaxConsole {
				fmt.Fprintf(&b, "[… %d more lines]\n", len(r.Console)-i)
				break
			}
			if len(l) > 500 {
				l = l[:500] + "…"
			}
			b.WriteString(l + "\n")
		}
	} else if len(r.Screenshot) > 0 {
		b.WriteString("\n\nBrowser console: no errors or warnings")
	}
	out := toolOutput{IsError: r.Status >= 500}
	if len(r.Screenshot) > 0 {
		if w, h, ok := pngSize(r.Screenshot); ok {
			fmt.Fprintf(&b, "\nscreenshot taken: %dx%d", w, h)
		} else {
			b.WriteString("\nscreenshot taken")
		}
		out.Images = []Image{{MediaType: "image/png", Data: base64.StdEncoding.EncodeToString(r.Screenshot)}}
	}
	out.Text = strings.TrimRight(b.String(), "\n")
	return out
}

const previewMaxConsole = 20

// pngSize reads the width and height from a PNG's IHDR chunk.
func pngSize(b []byte) (w, h int, ok bool) {
	if len(b) < 24 || string(b[:8]) != "\x89PNG\r\n\x1a\n" || string(b[12:16]) != "IHDR" {
		return 0, 0, false
	}
	return int(binary.BigEndian.Uint32(b[16:20])), int(binary.BigEndian.Uint32(b[20:24])), true
}

func toolInstall(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	var pkgs []string
	if a, ok := in["packages"].([]any); ok {
		for _, v := range a {
			if s, ok := v.(string); ok && s != "" {
				pkgs = append(pkgs, s)
			}
		}
	}
	if len(pkgs) == 0 {
		return errOut("packages is required (a list of names)")
	}
	out, err := t.env.Packages.Install(ctx, sArg(in, "manager"), pkgs)
	if err != nil {
		return errOut("install failed: %v\n%s", err, headTail(out, outHead, outTail))
	}
	return toolOutput{Text: headTail(out, outHead, outTail)}
}

var readSQL = regexp.MustCompile(`(?is)^\s*(select|explain|with|pragma|show|describe|values)\b`)

func toolSQL(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	q := sArg(in, "query")
	if strings.TrimSpace(q) == "" {
		return errOut("query is required")
	}
	w := bArg(in, "allow_write")
	if !w && !readSQL.MatchString(q) {
		return errOut("this statement changes the database: set allow_write to true")
	}
	out, err := t.env.DB.Query(ctx, q, w)
	if err != nil {
		return errOut("sql: %v", err)
	}
	return toolOutput{Text: headTail(out, outHead, outTail)}
}

var secretNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

func toolSecrets(ctx context.Context, t *toolCtx, in map[string]any) toolOutput {
	names, err := t.env.Secrets.SecretNames(ctx)
	if err != nil {
		return errOut("secrets: %v", err)
	}
	if req := sArg(in, "request"); req != "" {
		if !secretNameRE.MatchString(req) {
			return errOut("request: %q is not a valid name (letters, digits, _; not starting with a digit)", req)
		}
		if slices.Contains(names, req) {
			return toolOutput{Text: req + " is already set: it is in the environment as $" + req}
		}
		reason := sArg(in, "reason")
		return toolOutput{Text: "The agent needs the secret " + req + ": " + reason, Ask: true, SecretRequest: &SecretRequest{Name: req, Reason: reason}}
	}
	if len(names) == 0 {
		return toolOutput{Text: "no secrets set (ask the user to add one in the Secrets panel if needed)"}
	}
	return toolOutput{Text: "secrets available as environment variables (values hidden): " + strings.Join(names, ", ")}
}

func toolTodo(_ context.Context, t *toolCtx, in map[string]any) toolOutput {
	arr, ok := in["todos"].([]any)
	if !ok {
		return errOut("todos is required (a list)")
	}
	var todos []Todo
	inProg := 0
	for _, v := range arr {
		m, _ := v.(map[string]any)
		td := Todo{Content: sArg(m, "content"), Status: sArg(m, "status")}
		if td.Content == "" || !slices.Contains([]string{"pending", "in_progress", "completed"}, td.Status) {
			return errOut("each todo needs content and status pending|in_progress|completed")
		}
		if td.Status == "in_progress" {
			inProg++
		}
		todos = append(todos, td)
	}
	if inProg > 1 {
		return errOut("at most one todo may be in_progress")
	}
	t.sess.Todos = todos
	done := 0
	for _, td := range todos {
		if td.Status == "completed" {
			done++
		}
	}
	return toolOutput{Text: fmt.Sprintf("todo list updated: %d items, %d completed", len(todos), done)}
}

func toolAsk(_ context.Context, _ *toolCtx, in map[string]any) toolOutput {
	q := sArg(in, "question")
	if q == "" {
		return errOut("question is required")
	}
	return toolOutput{Text: q, Ask: true}
}
