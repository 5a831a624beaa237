// Command ecode is the E-Code server: a self-hostable browser IDE with an AI
// agent. See `ecode help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"ecode/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ecode:", err)
		os.Exit(1)
	}
}
