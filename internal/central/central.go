// Package central is the composition root of Stockade Central, the HTTPS
// management server. New wires every part explicitly: configuration → data
// directory → TLS → store → first-start bootstrap → authentication → image
// scanning (secret key, vulnerability database, layer cache, registry
// credentials) → the API domains (policies, alerts, tokens, detection,
// images, image integrations, vulnerability database) and their routes →
// the HTTP server. Run also drives the image rescan schedule and the
// vulnerability feed updates. Nothing is
// global; each domain gets exactly what it uses.
//
// Every route is declared by its domain together with the permission it
// needs (see httpapi.Route); routes without one are refused at startup, and
// the OpenAPI document served on /openapi.json is checked against the route
// table by a test.
package central

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/certs"
	"github.com/stockade-dev/stockade/internal/central/feeds"
	"github.com/stockade-dev/stockade/internal/central/httpapi"
	"github.com/stockade-dev/stockade/internal/central/imagescan"
	"github.com/stockade-dev/stockade/internal/central/metrics"
	"github.com/stockade-dev/stockade/internal/central/outbox"
	"github.com/stockade-dev/stockade/internal/central/rescan"
	"github.com/stockade-dev/stockade/internal/central/sensorconn"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/central/sysconfig"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
	"github.com/stockade-dev/stockade/internal/version"
)

//go:embed openapi.yaml
var openAPIYAML []byte

// Timeouts of the server.
const (
	shutdownTimeout = 15 * time.Second
	// optimizeInterval is how often the store refreshes its planner statistics.
	optimizeInterval  = 10 * time.Minute
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 5 * time.Minute
	writeTimeout      = 5 * time.Minute
	idleTimeout       = 2 * time.Minute
	readyTimeout      = 2 * time.Second
)

// Sign-in failures allowed per client address: a burst, then one more per
// interval.
const (
	loginBurst  = 10
	loginRefill = 6 * time.Second
)

// Server is a configured Central, listening and ready to serve.
type Server struct {
	cfg      Config
	log      *slog.Logger
	out      io.Writer
	store    *store.Store
	listener net.Listener
	http     *http.Server
	routes   []httpapi.Route
	url      string
	caPath   string
	first    *firstStart
	authn    *auth.Authenticator
	metrics  *metrics.Metrics
	// Image scanning: the vulnerability database, the scanning service,
	// the rescan schedule and the feed updates, closed after the HTTP server
	// and before the store.
	vulndb *vulndb.DB
	images *imagescan.Service
	rescan *rescan.Scheduler
	feeds  *feeds.Scheduler
	// outbox delivers notifications; it stops with the schedules, before
	// the store closes.
	outbox *outbox.Outbox
	// retention prunes old alerts as the system configuration says; it
	// stops with the schedules.
	retention *sysconfig.Pruner
	// sensors serves the Sensor connection (gRPC) on the HTTPS listener;
	// its streams end when the server shuts down.
	sensors *sensorconn.Service
}

// New prepares Central: it creates the data directory, TLS material and
// store on first start (or reuses them), binds the listen address and mounts
// every route. The banner goes to out when Run starts. On error nothing is
// left open.
func New(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) (_ *Server, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := ensureDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", cfg.Listen, err)
	}
	tlsRes, err := loadTLS(cfg, host, log)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DB, cfg.DataDir, log)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = st.Close() // the start error matters more
		}
	}()
	first, adminHash, err := bootstrap(ctx, st, cfg, log)
	if err != nil {
		return nil, err
	}

	s := &Server{cfg: cfg, log: log, out: out, store: st, caPath: tlsRes.CAPath, first: first}
	defer func() {
		if err != nil {
			s.closeScanning()
		}
	}()
	s.routes, err = s.wire(ctx, adminHash)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	if err := httpapi.Mount(mux, s.routes, httpapi.Edge{Auth: s.authn, Observer: s.metrics, Audit: s, Log: log}); err != nil {
		return nil, err
	}
	if err := s.mountDashboard(mux); err != nil {
		return nil, err
	}

	s.listener, err = (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	s.url = "https://" + net.JoinHostPort(displayHost(host), portOf(s.listener.Addr()))
	s.http = &http.Server{
		Handler:           s.sensors.Handler(mux),
		TLSConfig:         sensorTLS(certs.ServerConfig(tlsRes.Certificate)),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.http.RegisterOnShutdown(s.sensors.Stop)
	return s, nil
}

// loadTLS returns the operator's certificate or the bootstrapped one.
func loadTLS(cfg Config, listenHost string, log *slog.Logger) (certs.Result, error) {
	if cfg.TLSCert != "" {
		return certs.Load(cfg.TLSCert, cfg.TLSKey)
	}
	hosts := certs.DefaultHosts()
	if listenHost != "" && !isUnspecified(listenHost) && !slices.Contains(hosts, listenHost) {
		hosts = append(hosts, listenHost)
	} else if name, err := os.Hostname(); err == nil && name != "" {
		hosts = append(hosts, name)
	}
	return certs.Ensure(cfg.DataDir, hosts, time.Now(), log)
}

func isUnspecified(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// displayHost is the host of the URL printed in the banner.
func displayHost(host string) string {
	if host == "" || isUnspecified(host) {
		return "localhost"
	}
	return host
}

func portOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return fmt.Sprint(ta.Port)
	}
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

// URL is the address Central serves on, https://host:port.
func (s *Server) URL() string { return s.url }

// Addr is the bound listen address.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// CAPath is the CA file clients should trust, or "" with an operator's
// certificate.
func (s *Server) CAPath() string { return s.caPath }

// Run serves until ctx ends, then shuts down gracefully: in-flight requests
// get up to 15 seconds, and the store is closed last.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.ServeTLS(s.listener, "", "") }()
	rctx, stopRescans := context.WithCancel(ctx)
	rescansDone := make(chan struct{})
	go func() {
		defer close(rescansDone)
		s.rescan.Run(rctx)
	}()
	feedsDone := make(chan struct{})
	go func() {
		defer close(feedsDone)
		s.feeds.Run(rctx)
	}()
	optimizeDone := make(chan struct{})
	go func() {
		defer close(optimizeDone)
		s.store.OptimizeEvery(rctx, optimizeInterval, s.log)
	}()
	outboxDone := make(chan struct{})
	go func() {
		defer close(outboxDone)
		if err := s.outbox.Run(rctx); err != nil {
			s.log.Error("notification delivery stopped", "err", err)
		}
	}()
	retentionDone := make(chan struct{})
	go func() {
		defer close(retentionDone)
		s.retention.Run(rctx)
	}()
	s.printBanner()
	s.log.Info("central started", "url", s.url, "version", version.Version, "store", s.store.Backend())

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := s.http.Shutdown(sctx); err != nil {
			s.log.Warn("graceful shutdown incomplete", "err", err)
			_ = s.http.Close() // forced: the shutdown error is already logged
		}
		serveErr = <-errc
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	stopRescans()
	<-rescansDone
	<-feedsDone
	<-optimizeDone
	<-outboxDone
	<-retentionDone
	s.closeScanning()
	if err := s.store.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	s.log.Info("central stopped")
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// Close releases what New opened, for a Server that will not Run.
func (s *Server) Close() error {
	lerr := s.listener.Close()
	s.closeScanning()
	if err := s.store.Close(); err != nil {
		return err
	}
	return lerr
}

// closeScanning stops the scans in progress and closes the vulnerability
// database; the store stays open.
func (s *Server) closeScanning() {
	if s.images != nil {
		s.images.Close()
		s.images = nil
	}
	if s.vulndb != nil {
		if err := s.vulndb.Close(); err != nil {
			s.log.Warn("close vulnerability database failed", "err", err)
		}
		s.vulndb = nil
	}
}

func (s *Server) printBanner() {
	var b strings.Builder
	switch {
	case s.first == nil:
		fmt.Fprintf(&b, "Stockade Central is running at %s\n", s.url)
	case s.first.fromEnv:
		fmt.Fprintf(&b, "Stockade Central is running at %s  (user: %s, password: from %s, CA: %s)\n",
			s.url, auth.AdminUser, AdminPasswordEnv, s.caDisplay())
	default:
		fmt.Fprintf(&b, "Stockade Central is running at %s  (user: %s, password: %s, CA: %s)\n",
			s.url, auth.AdminUser, s.first.password, s.caDisplay())
		fmt.Fprintf(&b, "The password is saved in %s; it is not shown again.\n", filepath.Join(s.cfg.DataDir, PasswordFile))
	}
	if _, err := io.WriteString(s.out, b.String()); err != nil {
		s.log.Warn("print banner failed", "err", err)
	}
}

func (s *Server) caDisplay() string {
	if s.caPath == "" {
		return "operator-provided certificate"
	}
	if abs, err := filepath.Abs(s.caPath); err == nil {
		return abs
	}
	return s.caPath
}
