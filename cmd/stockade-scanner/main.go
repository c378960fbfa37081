// Command stockade-scanner is the part of the Stockade CLI that links the
// image scanner and SQLite: `stockade` runs it in its own place for local
// image scans (`image scan|check|sbom` without Central) and for the local
// vulnerability database (`vulndb import|status|update`). It is the same
// command tree as stockade's, with the local backend, so it takes the same
// arguments and prints, and exits, as stockade would.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stockade-dev/stockade/internal/cli"
	"github.com/stockade-dev/stockade/internal/cli/scanengine"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cmd := cli.New(cli.Env{
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		Getenv:           os.Getenv,
		Now:              time.Now,
		StdoutIsTerminal: isTerminal(os.Stdout),
		StderrIsTerminal: isTerminal(os.Stderr),
		Scanner:          scanengine.New(),
	})
	err := cmd.ExecuteContext(ctx)
	stop()
	if err != nil {
		// Errors read as the user's command's: they ran stockade.
		fmt.Fprintf(os.Stderr, "stockade: %v\n", err)
		os.Exit(cli.ExitCode(err))
	}
}

// isTerminal reports whether f is a character device, such as a terminal.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
