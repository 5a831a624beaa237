package imports

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// The git binary fetches repositories, not a library: it speaks every
// transport and protocol version servers use, fetches shallow by branch,
// tag or commit, and is what the import is measured against (bench/).
// Its resolution is pinned to the checked address (http.curloptResolve),
// redirects are off and only http(s) is allowed, so it cannot be led to
// an address the Guard refused.

var refPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$`)

// GitFetch fetches one commit of the repository at t into dir (which must
// not exist): ref is a branch, tag or commit id ("" for the default
// branch). token, when set, is sent as HTTP basic auth (GitHub's form).
func GitFetch(ctx context.Context, t Target, ref, token, dir string, progress func(string)) error {
	if ref != "" && (!refPattern.MatchString(ref) || strings.Contains(ref, "..")) {
		return userErr("%q is not a branch, tag or commit name", ref)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	env := gitEnv(t, token)
	run := func(args ...string) error { return runGit(ctx, dir, env, progress, args...) }
	if err := run("init", "-q"); err != nil {
		return err
	}
	if err := run("remote", "add", "origin", t.URL.String()); err != nil {
		return err
	}
	want := ref
	if want == "" {
		want = "HEAD"
	}
	if err := run("fetch", "--depth", "1", "--no-tags", "--progress", "origin", want); err != nil {
		return err
	}
	if err := run("-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD"); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(dir, ".git"))
}

func gitEnv(t Target, token string) []string {
	host := t.URL.Hostname()
	addr := t.Addr.String()
	if t.Addr.Is6() {
		addr = "[" + addr + "]"
	}
	cfg := [][2]string{
		{"http.curloptResolve", host + ":" + t.Port + ":" + addr},
		{"http.followRedirects", "false"},
		{"protocol.allow", "never"},
		{"protocol.https.allow", "always"},
		{"protocol.http.allow", "always"},
		{"core.symlinks", "false"},
		{"lfs.fetchexclude", "*"},
	}
	if token != "" {
		basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
		cfg = append(cfg, [2]string{"http.extraHeader", "Authorization: Basic " + basic})
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_LFS_SKIP_SMUDGE=1", "GIT_CONFIG_COUNT=" + strconv.Itoa(len(cfg))}
	for i, kv := range cfg {
		env = append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", i, kv[0]), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", i, kv[1]))
	}
	return env
}

var gitNoise = regexp.MustCompile(`(?i)authorization:[^\n]*`)

func runGit(ctx context.Context, dir string, env []string, progress func(string), args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &lineWriter{buf: &stderr, line: progress}
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	msg := gitNoise.ReplaceAllString(strings.TrimSpace(stderr.String()), "authorization: …")
	switch {
	case strings.Contains(msg, "Authentication failed"), strings.Contains(msg, "could not read Username"), strings.Contains(msg, "401"), strings.Contains(msg, "403"):
		return userErr("the Git server refused access: for a private repository give a token that can read it")
	case strings.Contains(msg, "not found"), strings.Contains(msg, "404"):
		return userErr("the repository was not found at that URL (or it is private: give a token)")
	case strings.Contains(msg, "couldn't find remote ref"), strings.Contains(msg, "not our ref"):
		return userErr("the branch, tag or commit %q does not exist in the repository", args[len(args)-1])
	case strings.Contains(msg, "redirect"):
		return userErr("the Git server answered with a redirect: give the repository's final URL")
	}
	if i := strings.LastIndex(msg, "\n"); i >= 0 {
		msg = msg[i+1:]
	}
	return userErr("git %s failed: %s", args[0], msg)
}

// lineWriter keeps stderr and hands each progress line (split on \r or \n) to line.
type lineWriter struct {
	buf  *bytes.Buffer
	line func(string)
	cur  []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	if w.buf.Len() < 64<<10 {
		w.buf.Write(b)
	}
	for _, c := range b {
		if c == '\r' || c == '\n' {
			if w.line != nil && len(w.cur) > 0 {
				w.line(string(w.cur))
			}
			w.cur = w.cur[:0]
			continue
		}
		w.cur = append(w.cur, c)
	}
	return len(b), nil
}
