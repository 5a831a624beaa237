package sandbox_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"ecode/internal/sandbox"
)

// How the server uses the package (not run: needs root and bubblewrap).
func Example() {
	var r sandbox.Runner = sandbox.NewLocal(sandbox.Options{StateDir: "/run/ecode-sandbox"})
	if err := r.Check(); err != nil {
		log.Fatalf("refusing to run code: %v", err) // /readyz reports this
	}
	ctx := context.Background()
	r.Cleanup(ctx) // leftovers of a crashed previous run
	defer r.Close()

	w, err := r.Workspace(ctx, "p42", sandbox.Spec{
		Dir: "/var/lib/ecode/projects/p42",
		UID: 100042,
		Limits: sandbox.Limits{
			MemoryBytes: 512 << 20, CPU: 1, MaxProcs: 256,
			WallTime: time.Minute,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := w.Exec(ctx, sandbox.Cmd{Args: []string{"python3", "main.py"}})
	fmt.Println(res.ExitCode, res.Reason, string(res.Stdout), err)

	run, _ := w.Start(ctx, sandbox.Cmd{Args: []string{"npm", "run", "dev"}, Stdout: os.Stdout, Stderr: os.Stderr})
	conn, _ := w.DialContext(ctx, "tcp", "127.0.0.1:3000") // preview proxy
	_ = conn
	term, _ := w.StartPTY(ctx, sandbox.Cmd{Args: []string{"bash", "-i"}}, 24, 80)
	term.Write([]byte("ls\n"))
	term.Resize(40, 120)

	if time.Since(w.LastActivity()) > 15*time.Minute {
		w.KillAll() // idle: stop processes, keep the workspace
	}
	run.Kill()
	w.Close()
}
