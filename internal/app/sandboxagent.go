package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"ecode/internal/sandbox/remote"
)

const sandboxAgentUsage = `usage: ecode sandbox-agent --token-file FILE [--listen :7070] [--root /workspace]
       [--run-as UID] [--env KEY=VALUE]... [--tunnel 127.0.0.1:PORT]...
  the agent inside a workspace pod: serves exec, terminals and port forwarding
  to the owning node, and forwards connections to each --tunnel address to it
  (egress proxy, database proxy); the token is read from --token-file (the
  pod's Secret, mounted read-only), never from a flag or the environment.
  --run-as: the agent runs as root and every command as UID (and gid UID),
  without capabilities, so user code cannot read the token`

// sandboxAgentCommand is ecode sandbox-agent, E-Code's binary in a
// workspace pod. It takes its own few flags, not the server's
// configuration: the pod has no database or data dir.
func sandboxAgentCommand(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("ecode sandbox-agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", ":7070", "address to listen on")
	root := fs.String("root", "/workspace", "the workspace directory")
	tokenFile := fs.String("token-file", "", "file holding the workspace token (the pod's Secret)")
	runAs := fs.Int("run-as", 0, "uid (and gid) every command runs as; the agent must be root (0: the agent's own)")
	var env, tunnels []string
	fs.Func("tunnel", "address inside the pod whose connections go to the node (repeatable)", func(s string) error {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return err
		}
		tunnels = append(tunnels, s)
		return nil
	})
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
	if *runAs < 0 {
		return fmt.Errorf("--run-as %d: want a uid above 0\n%s", *runAs, sandboxAgentUsage)
	}
	token, err := readTokenFile(*tokenFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("sandbox agent listening", "addr", ln.Addr().String())
	return remote.Serve(ctx, ln, remote.ServerOptions{Root: *root, Token: token, Env: env, Tunnels: tunnels,
		UID: *runAs, Log: log})
}

// readTokenFile reads the agent's token; the agent refuses to start
// without one.
func readTokenFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("ecode sandbox-agent: --token-file is required (the workspace token, mounted from the pod's Secret)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("ecode sandbox-agent: read the token: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("ecode sandbox-agent: the token file %s is empty", path)
	}
	return token, nil
}
