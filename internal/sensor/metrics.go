package sensor

import (
	"context"
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/conn"
	"github.com/stockade-dev/stockade/internal/sensor/detect"
	"github.com/stockade-dev/stockade/internal/sensor/enforce"
	"github.com/stockade-dev/stockade/internal/workload"
)

// metrics are the Sensor's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg              *prometheus.Registry
	deploymentEvents *prometheus.CounterVec
	decisions        *prometheus.CounterVec
	alertChanges     *prometheus.CounterVec
	enforcements     *prometheus.CounterVec
	forwardErrors    prometheus.Counter
}

// statsSource is where connection counters come from (conn.Client).
type statsSource func() (conn.Stats, bool)

func newMetrics(stats statsSource, pol *policies, current func() int) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		deploymentEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockade_sensor_deployment_events_total",
			Help: "Deployment changes seen in the cluster, by action (CREATE, UPDATE, REMOVE).",
		}, []string{"action"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockade_sensor_admission_decisions_total",
			Help: "Admission reviews decided, by result: allowed, denied, break_glass, inform (admitted with alerts, enforcement off), fail_open, fail_closed.",
		}, []string{"result"}),
		alertChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockade_sensor_detection_alert_changes_total",
			Help: "Changes of a deployment's alerts found by detection, by state sent to Central (ACTIVE, RESOLVED).",
		}, []string{"state"}),
		enforcements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockade_sensor_enforcement_actions_total",
			Help: "Enforcement actions applied to workloads, by action and result (ok, error, unsupported, system_namespace, replaced).",
		}, []string{"action", "result"}),
		forwardErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stockade_sensor_forward_errors_total",
			Help: "Events that could not be encoded for Central.",
		}),
	}
	stat := func(f func(conn.Stats) float64) func() float64 {
		return func() float64 {
			s, ok := stats()
			if !ok {
				return 0
			}
			return f(s)
		}
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.deploymentEvents, m.decisions, m.alertChanges, m.enforcements, m.forwardErrors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stockade_sensor_central_connected", Help: "1 while a stream to Central is up."},
			stat(func(s conn.Stats) float64 { return b2f(s.Connected) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "stockade_sensor_central_connects_total", Help: "Streams to Central that Central accepted."},
			stat(func(s conn.Stats) float64 { return float64(s.Connects) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "stockade_sensor_events_sent_total", Help: "Messages sent to Central, full syncs included."},
			stat(func(s conn.Stats) float64 { return float64(s.Sent) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stockade_sensor_events_buffered", Help: "Messages waiting to be sent to Central."},
			stat(func(s conn.Stats) float64 { return float64(s.Buffered) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "stockade_sensor_events_dropped_total", Help: "Messages dropped because the buffer was full while Central was away, or too large."},
			stat(func(s conn.Stats) float64 { return float64(s.Dropped) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stockade_sensor_policies", Help: "Policies in the set in place (0 before one was loaded)."},
			func() float64 { return float64(pol.count.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stockade_sensor_policy_generation", Help: "Central's generation of the policy set in place."},
			func() float64 { return float64(pol.gen.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stockade_sensor_detection_alerts", Help: "Policy violations detection currently reports, over all deployments."},
			func() float64 { return float64(current()) }),
	)
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// countingEnforcer counts the Detector's enforcement calls by result.
type countingEnforcer struct {
	next detect.Enforcer
	m    *metrics
}

func (e countingEnforcer) ScaleToZero(ctx context.Context, d *workload.Deployment, p *policy.Policy) error {
	err := e.next.ScaleToZero(ctx, d, p)
	e.count(policy.EnforceScaleToZero, err)
	return err
}

func (e countingEnforcer) UnsatisfiableNodeConstraint(ctx context.Context, d *workload.Deployment, p *policy.Policy) error {
	err := e.next.UnsatisfiableNodeConstraint(ctx, d, p)
	e.count(policy.EnforceUnsatisfiableNode, err)
	return err
}

func (e countingEnforcer) count(action policy.EnforcementAction, err error) {
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, enforce.ErrUnsupported):
		result = "unsupported"
	case errors.Is(err, enforce.ErrSystemNamespace):
		result = "system_namespace"
	case errors.Is(err, enforce.ErrReplaced):
		result = "replaced"
	default:
		result = "error"
	}
	e.m.enforcements.WithLabelValues(string(action), result).Inc()
}
