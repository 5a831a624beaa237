package agentrun

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"ecode/internal/agent"
)

// packages is agent.Packages: the manager's install command, run in the
// project's sandbox (installs need the network: --egress=proxy).
type packages struct {
	shell shell
	files files
}

// pkgName is what a package argument may look like (names, scopes,
// versions, module paths); anything else is refused, so nothing reaches the
// shell unquoted.
var pkgName = regexp.MustCompile(`^[A-Za-z0-9@][A-Za-z0-9@._/+~^<>=!:-]*$`)

func (p packages) Install(ctx context.Context, manager string, pkgs []string) (string, error) {
	for _, n := range pkgs {
		if !pkgName.MatchString(n) || len(n) > 200 {
			return "", fmt.Errorf("%q is not a package name", n)
		}
	}
	if manager == "" {
		manager = p.detect(ctx)
	}
	args := "'" + strings.Join(pkgs, "' '") + "'"
	var cmd string
	switch manager {
	case "npm":
		cmd = "npm install --no-fund --no-audit " + args
	case "pip", "pip3":
		cmd = "pip install " + args + " && printf '%s\\n' " + args + " >> requirements.txt"
	case "go":
		cmd = "go get " + args
	default:
		return "", fmt.Errorf("unknown package manager %q (npm, pip or go)", manager)
	}
	res, err := p.shell.Exec(ctx, cmd, 10*time.Minute)
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 || res.TimedOut {
		return res.Output, fmt.Errorf("%s exited with code %d", manager, res.ExitCode)
	}
	return res.Output, nil
}

func (p packages) detect(ctx context.Context) string {
	for _, c := range []struct{ file, manager string }{{"package.json", "npm"}, {"go.mod", "go"}, {"requirements.txt", "pip"}, {"pyproject.toml", "pip"}} {
		if _, err := p.files.ReadFile(ctx, c.file); err == nil {
			return c.manager
		}
	}
	return "npm"
}

var _ agent.Packages = packages{}
