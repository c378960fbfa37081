// Command stockade-sensor is Stockade's Sensor, one per secured cluster: it
// watches the Kubernetes API, reports workloads to Central, detects and
// enforces policy violations, and serves the validating admission webhook.
// See `stockade-sensor --help` for its flags; each also reads
// STOCKADE_<FLAG> from the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stockade-dev/stockade/internal/sensor"
)

func main() {
	os.Exit(run())
}

func run() int {
	cfg, err := sensor.ParseFlags("stockade-sensor", os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stockade-sensor:", err)
		return 2
	}
	log := cfg.Logger(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := sensor.New(ctx, cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	if err := s.Run(ctx); err != nil {
		log.Error("stopped with an error", "err", err)
		return 1
	}
	return 0
}
