// Command stockade is the Stockade CLI: deployment checks in CI, policy
// management and Central queries. See internal/cli for the commands.
//
// It does not link the image scanner and SQLite, whose start-up would slow
// every deployment check: local image scans and the local vulnerability
// database run in stockade-scanner, which this binary executes in its
// place (see handOff).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/stockade-dev/stockade/internal/cli"
)

func main() {
	// The CLI is short-lived and its inputs are size-bounded: collecting
	// garbage less often is worth more than the memory it saves.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd := cli.New(cli.Env{
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		Getenv:           os.Getenv,
		Now:              time.Now,
		StdoutIsTerminal: isTerminal(os.Stdout),
		StderrIsTerminal: isTerminal(os.Stderr),
		HandOff:          handOff(os.Args[1:]),
	})
	err := cmd.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "stockade: %v\n", err)
		os.Exit(cli.ExitCode(err))
	}
}

// isTerminal reports whether f is a character device, such as a terminal.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
