package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"ecode/internal/sandbox/remote"
)

const sandboxAgentUsage = `usage: ecode sandbox-agent [--listen :7070] [--root /workspace] [--env KEY=VALUE]...
  the agent inside a workspace pod: serves exec, terminals and port forwarding
  to the owning node; the token comes from ECODE_SANDBOX_TOKEN (never a flag)`

// sandboxAgentCommand is ecode sandbox-agent, E-Code's binary in a
// workspace pod. It takes its own few flags, not the server's
// configuration: the pod has no database or data dir.
func sandboxAgentCommand(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("ecode sandbox-agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", ":7070", "address to listen on")
	root := fs.String("root", "/workspace", "the workspace directory")
	var env []string
	fs.Func("env", "KEY=VALUE for every command (repeatable)", func(s string) error {
		if !strings.Contains(s, "=") {
			return errors.New("want KEY=VALUE")
		}
		env = append(env, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w\n%s", err, sandboxAgentUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v\n%s", fs.Args(), sandboxAgentUsage)
	}
	token := getenv("ECODE_SANDBOX_TOKEN")
	if token == "" {
		return errors.New("ecode sandbox-agent: ECODE_SANDBOX_TOKEN is required")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("sandbox agent listening", "addr", ln.Addr().String())
	return remote.Serve(ctx, ln, remote.ServerOptions{Root: *root, Token: token, Env: env, Log: log})
}
