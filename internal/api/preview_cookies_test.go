package api_test

import (
	"context"
	"strings"
	"testing"
)

// appSettingCookies is a Python app whose page sets cookies the way an app
// tossing cookies at the IDE would.
const appSettingCookies = `from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import os
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Set-Cookie", "theme=dark; Path=/; Domain=localhost; SameSite=Lax")
        self.send_header("Set-Cookie", "ecode_session=stolen; Path=/; Domain=localhost")
        self.send_header("Set-Cookie", "__Host-ecode_session=x; Path=/; Secure")
        self.send_header("Set-Cookie", "cart=1; domain=.LOCALHOST; HttpOnly")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "3000"))), H).serve_forever()
`

// TestPreviewAppCannotSetIDECookies: an app's cookies stay host-only on its
// preview origin (no Domain), and cookies named like the IDE's are dropped.
func TestPreviewAppCannotSetIDECookies(t *testing.T) {
	srv, c := sandboxServer(t)
	ctx := context.Background()
	p, err := c.CreateProject(ctx, "cookies", "python")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFile(ctx, p.ID, "main.py", []byte(appSettingCookies)); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "POST", "/api/projects/"+p.ID+"/run", nil, "", nil); err != nil {
		t.Fatal(err)
	}
	if st := waitRun(t, srv, c, p.ID, func(s runState) bool { return s.Listening || s.State == "exited" }); !st.Listening {
		t.Fatalf("app did not start: %+v\n%s", st, runOutputText(t, c, p.ID))
	}
	status, body, h := previewDo(t, srv, c, p.ID, "/")
	got := h.Values("Set-Cookie")
	if status != 200 || body != "ok" {
		t.Fatalf("preview: %d %q", status, body)
	}
	want := []string{"theme=dark; Path=/; SameSite=Lax", "cart=1; HttpOnly"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Set-Cookie from the app:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
