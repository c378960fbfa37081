// Command stockade-central is Stockade's management server: the HTTPS REST
// API, the policy store and deploy-time detection. See `stockade-central
// --help` for its flags; each also reads STOCKADE_<FLAG> from the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stockade-dev/stockade/internal/central"
)

func main() {
	os.Exit(run())
}

func run() int {
	cfg, err := central.ParseFlags("stockade-central", os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stockade-central:", err)
		return 2
	}
	log := cfg.Logger(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := central.New(ctx, cfg, log, os.Stdout)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	if err := srv.Run(ctx); err != nil {
		log.Error("stopped with an error", "err", err)
		return 1
	}
	return 0
}
