package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// scannerBinary is the helper that runs the commands needing the scanner
// and SQLite, which this binary does not link (see internal/cli/localscan).
const scannerBinary = "stockade-scanner"

// findScanner returns the path of stockade-scanner: next to this
// executable (exe, with symbolic links resolved, then as invoked), else on
// PATH (lookPath). The error says what to install.
func findScanner(exe string, lookPath func(string) (string, error)) (string, error) {
	var dirs []string
	if exe != "" {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, scannerBinary)
		if isExecutable(p) {
			return p, nil
		}
	}
	if p, err := lookPath(scannerBinary); err == nil {
		return p, nil
	}
	where := "on PATH"
	if exe != "" {
		where = "next to " + exe + " or on PATH"
	}
	return "", fmt.Errorf("%s is not installed (not found %s): install it beside stockade, from the same release or with 'make build', which puts both in bin/", scannerBinary, where)
}

// isExecutable reports whether path is a regular file someone may execute.
func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}

// scannerPath finds stockade-scanner for this process.
func scannerPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = "" // no path of our own (an unusual /proc): PATH only
	}
	return findScanner(exe, exec.LookPath)
}
