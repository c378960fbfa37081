//go:build !unix

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// handOff runs stockade-scanner with the same arguments, standard streams
// and environment, and ends this process with its exit status. Where a
// process cannot replace itself, an interrupt reaches the helper through
// the console, and cancelling ctx (main's interrupt handler) ends the
// helper. It returns only when the helper cannot be started.
func handOff(args []string) func(context.Context) error {
	return func(ctx context.Context) error {
		path, err := scannerPath()
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err = cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			os.Exit(0)
		case errors.As(err, &exit):
			os.Exit(exit.ExitCode())
		}
		return fmt.Errorf("run %s: %w", path, err)
	}
}
