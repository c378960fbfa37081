package sensor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/initbundle"
	"github.com/stockade-dev/stockade/internal/sensor/admission"
	"github.com/stockade-dev/stockade/internal/sensor/conn"
	"github.com/stockade-dev/stockade/internal/sensor/detect"
	"github.com/stockade-dev/stockade/internal/sensor/enforce"
	"github.com/stockade-dev/stockade/internal/sensor/install"
	"github.com/stockade-dev/stockade/internal/sensor/watch"
	"github.com/stockade-dev/stockade/internal/version"
)

// Capabilities the Sensor announces in its Hello.
var capabilities = []string{"deployments", "deploy-detection", "admission-control", "kube-events", "enforcement"}

// Timeouts of the servers and of shutdown.
const (
	readHeaderTimeout = 10 * time.Second
	shutdownTimeout   = 5 * time.Second
	versionTimeout    = 30 * time.Second
)

// Run builds a Sensor from cfg and runs it until ctx ends (see New and
// Sensor.Run).
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	s, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// Sensor is one cluster's Sensor. Build it with New and start it with Run.
type Sensor struct {
	cfg    Config
	log    *slog.Logger
	bundle *initbundle.Bundle
	rest   *rest.Config
	kube   kubernetes.Interface

	policies *policies
	watcher  *watch.Watcher
	detector *detect.Detector
	metrics  *metrics
	webhook  *admission.Handler

	admissionLn  net.Listener
	admissionTLS *tls.Config
	healthLn     net.Listener

	mu     sync.Mutex
	client *conn.Client // set by Run before anything is sent
}

// New builds a Sensor from cfg: it reads the init bundle, the kubeconfig,
// the webhook's certificate and the cached policy set, and binds the
// listeners, so that every mistake in the configuration shows now. It
// contacts neither the API server nor Central; Run does.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Sensor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sensor{cfg: cfg, log: log}
	var err error
	if s.bundle, err = initbundle.Load(cfg.InitBundle); err != nil {
		return nil, fmt.Errorf("--init-bundle %s: %w", cfg.InitBundle, err)
	}
	if s.rest, err = restConfig(cfg.Kubeconfig); err != nil {
		return nil, err
	}
	if s.kube, err = kubernetes.NewForConfig(s.rest); err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(s.rest)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}

	s.policies = newPolicies(cfg.CacheDir, log.With("component", "policies"))
	if err := s.policies.load(); err != nil {
		// A damaged cache must not keep the Sensor down: Central sends
		// the set again on connect.
		log.Warn("policy cache not loaded", "err", err)
	}
	s.metrics = newMetrics(s.stats, s.policies, s.currentAlerts)

	instance, err := os.Hostname()
	if err != nil {
		instance = "" // enforce names the instance itself
	}
	enf := enforce.New(s.kube, dyn, enforce.Config{Namespace: cfg.Namespace, Instance: instance, Log: log.With("component", "enforce")})
	s.detector = detect.New(s.policies, detect.SinkFunc(s.alertChanged), countingEnforcer{next: enf, m: s.metrics}, log.With("component", "detect"))
	s.policies.changed = s.detector.PoliciesChanged

	s.watcher, err = watch.New(s.rest, watch.Config{ClusterName: cfg.ClusterName, Sink: watch.SinkFunc(s.deploymentChanged), Log: log.With("component", "watch")})
	if err != nil {
		return nil, err
	}

	if cfg.AdmissionListen != "" {
		cert, err := tls.LoadX509KeyPair(cfg.AdmissionCert, cfg.AdmissionKey)
		if err != nil {
			return nil, fmt.Errorf("--admission-cert %s / --admission-key %s: %w", cfg.AdmissionCert, cfg.AdmissionKey, err)
		}
		s.admissionTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		s.webhook = admission.New(admission.Config{
			ClusterName:        cfg.ClusterName,
			FailClosed:         cfg.AdmissionFailClosed,
			Inform:             !cfg.AdmissionEnforce,
			ExcludedNamespaces: install.SystemNamespaces(cfg.Namespace),
			Getter:             admission.RESTGetter{Client: s.kube.CoreV1().RESTClient()},
			Enricher:           s.watcher,
		}, s.policies, recorder{s}, log.With("component", "admission"))
	}
	if err := s.listen(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// restConfig reads the kubeconfig, or the pod's in-cluster configuration.
func restConfig(kubeconfig string) (*rest.Config, error) {
	var (
		cfg *rest.Config
		err error
	)
	if kubeconfig == "" {
		if cfg, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("--kubeconfig not given and not running in a pod: %w", err)
		}
	} else if cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.UserAgent = "stockade-sensor/" + version.Version
	// Enforcement and the webhook's lookups are few; the informers'
	// lists and watches are not rate limited by this anyway.
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// listen binds the webhook and health listeners.
func (s *Sensor) listen(ctx context.Context) error {
	var (
		lc  net.ListenConfig
		err error
	)
	if s.cfg.AdmissionListen != "" {
		if s.admissionLn, err = lc.Listen(ctx, "tcp", s.cfg.AdmissionListen); err != nil {
			return fmt.Errorf("--admission-listen %s: %w", s.cfg.AdmissionListen, err)
		}
	}
	if s.cfg.HealthListen != "" {
		if s.healthLn, err = lc.Listen(ctx, "tcp", s.cfg.HealthListen); err != nil {
			if s.admissionLn != nil {
				_ = s.admissionLn.Close()
			}
			return fmt.Errorf("--health-listen %s: %w", s.cfg.HealthListen, err)
		}
	}
	return nil
}

// AdmissionAddr is the webhook's address ("" when it serves none).
func (s *Sensor) AdmissionAddr() string { return addrOf(s.admissionLn) }

// HealthAddr is the health server's address ("" when it serves none).
func (s *Sensor) HealthAddr() string { return addrOf(s.healthLn) }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Run connects to the API server and Central and runs the Sensor until
// ctx ends, then shuts down gracefully and returns nil. It returns an
// error when a part cannot run: the API server unreachable at start, a
// listener failing, informers that cannot start. Run may be called once.
func (s *Sensor) Run(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)

	kubeVersion, err := s.kubernetesVersion(ctx)
	if err != nil {
		s.closeListeners()
		if parent.Err() != nil {
			return nil
		}
		return err
	}
	client, err := conn.Dial(ctx, s.cfg.Central, s.bundle, conn.Options{
		Hello:        conn.Hello{ClusterName: s.cfg.ClusterName, SensorVersion: version.Version, KubernetesVersion: kubeVersion, Capabilities: capabilities},
		FullState:    s.fullState,
		OnPolicySync: s.policies.apply,
		BufferSize:   s.cfg.BufferSize,
		MinBackoff:   s.cfg.MinBackoff,
		MaxBackoff:   s.cfg.MaxBackoff,
		Heartbeat:    s.cfg.Heartbeat,
		Log:          s.log.With("component", "conn"),
	})
	if err != nil {
		s.closeListeners()
		return fmt.Errorf("--central %s: %w", s.cfg.Central, err)
	}
	s.mu.Lock()
	s.client = client
	s.mu.Unlock()
	s.log.Info("sensor starting", "cluster", s.cfg.ClusterName, "central", s.cfg.Central, "kubernetes", kubeVersion,
		"version", version.Version, "admission", s.AdmissionAddr(), "enforce", s.cfg.AdmissionEnforce,
		"fail_closed", s.cfg.AdmissionFailClosed, "health", s.HealthAddr())

	var wg sync.WaitGroup
	run := func(name string, fn func(context.Context) error) {
		wg.Go(func() {
			if err := fn(ctx); err != nil {
				cancel(fmt.Errorf("%s: %w", name, err))
			}
		})
	}
	run("watch", s.watcher.Run)
	run("detect", s.detector.Run)
	var servers []*http.Server
	if s.admissionLn != nil {
		mux := http.NewServeMux()
		mux.Handle(install.AdmissionPath, s.webhook)
		srv := &http.Server{Handler: mux, TLSConfig: s.admissionTLS, ReadHeaderTimeout: readHeaderTimeout,
			ErrorLog: slog.NewLogLogger(s.log.With("component", "admission-server").Handler(), slog.LevelWarn)}
		servers = append(servers, srv)
		ln := tls.NewListener(s.admissionLn, s.admissionTLS)
		run("admission server", func(context.Context) error { return serve(srv, ln) })
	}
	if s.healthLn != nil {
		srv := &http.Server{Handler: s.healthMux(), ReadHeaderTimeout: readHeaderTimeout}
		servers = append(servers, srv)
		ln := s.healthLn
		run("health server", func(context.Context) error { return serve(srv, ln) })
	}
	go func() {
		select {
		case <-s.watcher.Synced():
			// From now on a deployment event is a change made in the
			// cluster, which enforcement answers.
			s.detector.Live()
			s.log.Info("cluster state synced")
		case <-ctx.Done():
		}
	}()

	<-ctx.Done()
	cause := context.Cause(ctx)
	s.log.Info("sensor stopping", "reason", cause)
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer stop()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			s.log.Warn("server shutdown", "err", err)
		}
	}
	if err := client.Close(); err != nil {
		s.log.Warn("close central connection", "err", err)
	}
	wg.Wait()
	if parent.Err() != nil {
		return nil
	}
	return cause
}

func serve(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Sensor) closeListeners() {
	for _, ln := range []net.Listener{s.admissionLn, s.healthLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

// kubernetesVersion asks the API server for its version: the first
// contact, which fails early and clearly on a wrong kubeconfig.
func (s *Sensor) kubernetesVersion(ctx context.Context) (string, error) {
	type result struct {
		v   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := s.kube.Discovery().ServerVersion()
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{v: v.GitVersion}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", fmt.Errorf("kubernetes API server %s: %w", s.rest.Host, r.err)
		}
		return r.v, nil
	case <-time.After(versionTimeout):
		return "", fmt.Errorf("kubernetes API server %s: no answer within %s", s.rest.Host, versionTimeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// send queues a message for Central.
func (s *Sensor) send(m *sensorv1.SensorMessage) {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c != nil {
		c.Send(m)
	}
}

func (s *Sensor) stats() (conn.Stats, bool) {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c == nil {
		return conn.Stats{}, false
	}
	return c.Stats(), true
}

// synced reports whether the watcher has reported the cluster's initial
// state. Until then nothing is sent live: every full sync waits for it and
// reports the state as it is then, which holds every earlier change.
func (s *Sensor) synced() bool {
	select {
	case <-s.watcher.Synced():
		return true
	default:
		return false
	}
}

// deploymentChanged is the watcher's Sink: detection evaluates every
// change, and Central hears of it once the initial state is synced.
func (s *Sensor) deploymentChanged(ev watch.Event) {
	s.metrics.deploymentEvents.WithLabelValues(string(ev.Action)).Inc()
	s.detector.Deployment(ev)
	if !s.synced() {
		return
	}
	m, err := deploymentMessage(ev)
	if err != nil {
		s.metrics.forwardErrors.Inc()
		s.log.Error("deployment event not sent", "err", err)
		return
	}
	s.send(m)
}

// alertChanged is the Detector's Sink.
func (s *Sensor) alertChanged(ch detect.AlertChange) {
	m := alertMessage(ch)
	s.metrics.alertChanges.WithLabelValues(m.GetAlert().GetState().String()).Inc()
	if !s.synced() {
		return
	}
	s.send(m)
}

func (s *Sensor) currentAlerts() int {
	n := 0
	for _, ch := range s.detector.Current() {
		n += len(ch.Alerts)
	}
	return n
}

// fullState is conn's FullState hook: once the watcher has the cluster's
// state, every deployment, then every deployment's alerts.
func (s *Sensor) fullState(ctx context.Context, send func(*sensorv1.SensorMessage) error) error {
	select {
	case <-s.watcher.Synced():
	case <-ctx.Done():
		return ctx.Err()
	}
	snap := s.watcher.Snapshot()
	for _, ev := range snap {
		m, err := deploymentMessage(ev)
		if err != nil {
			s.metrics.forwardErrors.Inc()
			s.log.Error("deployment left out of the full sync", "err", err)
			continue
		}
		if err := send(m); err != nil {
			return err
		}
	}
	current := s.detector.Current()
	for _, ch := range current {
		if err := send(alertMessage(ch)); err != nil {
			return err
		}
	}
	s.log.Info("full state sent", "deployments", len(snap), "deployments_with_alerts", len(current))
	return nil
}

// recorder forwards the webhook's decisions to Central.
type recorder struct{ s *Sensor }

// Record is never called: the Handler prefers RecordDecision.
func (r recorder) Record(ev admission.Event) {
	r.RecordDecision(admission.Decision{Allowed: ev.Admitted, Failed: ev.Kind == admission.EventError, Events: []admission.Event{ev}})
}

func (r recorder) RecordDecision(d admission.Decision) {
	r.s.metrics.decisions.WithLabelValues(decisionResult(d)).Inc()
	msgs, err := decisionMessages(d, r.s.watcher)
	if err != nil {
		r.s.metrics.forwardErrors.Inc()
		r.s.log.Error("admission event not sent", "err", err)
	}
	for _, m := range msgs {
		r.s.send(m)
	}
}

// healthMux serves /healthz (the process is up), /readyz (the cluster's
// state is synced and a policy set is in place: the webhook decides by
// policy) and /metrics.
func (s *Sensor) healthMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var missing []string
		if !s.synced() {
			missing = append(missing, "cluster state not synced yet")
		}
		if s.policies.Set() == nil {
			missing = append(missing, "no policy set yet (none cached, Central not reached)")
		}
		if len(missing) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			for _, m := range missing {
				_, _ = w.Write([]byte(m + "\n"))
			}
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	return mux
}
