// Command shebao is the social insurance and social security card system: one binary that serves
// the portal and API and carries the administration commands. See `shebao help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/shebao/shebao/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Env: os.Getenv})
	stop()
	os.Exit(code)
}
