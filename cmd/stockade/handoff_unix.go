//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

// handOff replaces this process with stockade-scanner running the same
// arguments, so that the standard streams, the environment, signals and
// the exit status are the helper's, as if the user had run it. Nothing has
// been written yet when the command tree hands off. It returns only when
// the helper cannot be found or executed.
func handOff(args []string) func(context.Context) error {
	return func(context.Context) error {
		path, err := scannerPath()
		if err != nil {
			return err
		}
		argv := append([]string{path}, args...)
		//nolint:gosec // G204: the helper installed beside stockade, given the user's own arguments
		if err := syscall.Exec(path, argv, os.Environ()); err != nil {
			return fmt.Errorf("run %s: %w", path, err)
		}
		return nil // not reached: Exec returns only on failure
	}
}
