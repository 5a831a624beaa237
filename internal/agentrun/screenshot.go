package agentrun

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"ecode/internal/runner"
)

// Headless browser capture for the agent's preview_check: a screenshot of
// the page and the console messages it logged, taken by Chromium when it is
// installed.

const (
	shotTimeout    = 60 * time.Second // Chromium starts in a sandbox of 1 CPU, on a busy machine too
	shotMaxConsole = 20
	shotMaxPNG     = 8 << 20
	// chromiumBin is Debian's Chromium binary (not its /usr/bin wrapper,
	// which reads /etc/chromium.d): the sandbox sees the host's /usr.
	chromiumBin = "/usr/lib/chromium/chromium"
)

// chromiumInstalled reports whether sandboxes can run Chromium.
func chromiumInstalled() bool {
	fi, err := os.Stat(chromiumBin)
	return err == nil && !fi.IsDir()
}

// shot is what the browser saw.
type shot struct {
	PNG     []byte
	Console []string
}

// capturePage loads path of the app in headless Chromium inside the
// project's own sandbox (so the page, user code, runs contained and sees
// only the sandbox's loopback network), and returns the screenshot and the
// console messages. The screenshot comes back base64 on stdout. Chromium
// is killed after limit.
func capturePage(ctx context.Context, run *runner.Manager, projectID string, port int, path string, limit time.Duration) (shot, error) {
	origin := fmt.Sprintf("http://127.0.0.1:%d", port)
	script := strings.Join([]string{
		`d=$(mktemp -d /tmp/ecode-shot.XXXXXX)`,
		chromiumBin + ` --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run` +
			` --disable-background-networking --disable-component-update --disable-sync` +
			` --user-data-dir="$d/profile" --window-size=1280,800 --screenshot="$d/s.png"` +
			` --virtual-time-budget=3000 --enable-logging=stderr --v=0 ` + shellQuote(origin+path) + ` >/dev/null 2>"$d/log"`,
		`grep -a -E 'CONSOLE|Uncaught' "$d/log" >&2`,
		`base64 -w0 "$d/s.png"`,
		`rm -rf "$d"`,
	}, "\n")
	res, err := run.Exec(ctx, projectID, script, limit)
	if err != nil {
		return shot{}, err
	}
	if res.StdoutTruncated {
		return shot{}, errors.New("chromium: screenshot too large")
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(res.Stdout)))
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		return shot{}, fmt.Errorf("chromium wrote no screenshot (exit %d, %s)", res.ExitCode, res.Reason)
	}
	if len(b) > shotMaxPNG {
		return shot{}, fmt.Errorf("chromium: screenshot of %d bytes", len(b))
	}
	return shot{PNG: b, Console: consoleLines(string(res.Stderr), origin)}, nil
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// consoleLines picks the page's console messages out of Chromium's log
// (--enable-logging=stderr). Chromium 156 logs every console call as
// `[pid:tid:time:INFO:CONSOLE:N] "message", source: URL (line)` whatever its
// level, older versions as `CONSOLE(line)`; uncaught exceptions arrive as
// "Uncaught ..." messages. The proxy origin is cut from URLs.
func consoleLines(log, origin string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, "CONSOLE") && !strings.Contains(l, "Uncaught") {
			continue
		}
		if i := strings.Index(l, "] "); i >= 0 && strings.HasPrefix(l, "[") {
			l = l[i+2:]
		}
		l = strings.TrimSpace(strings.ReplaceAll(l, origin, ""))
		if l == "" {
			continue
		}
		if len(out) == shotMaxConsole {
			break
		}
		out = append(out, l)
	}
	return out
}
