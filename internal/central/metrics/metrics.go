// Package metrics holds Central's Prometheus metrics in a registry of its
// own (never the global one), served on /metrics: requests by route pattern
// and status code, their durations, the number of stored policies, the
// alerts recorded by detection, image scans and their durations, rescan
// runs, and vulnerability feed updates.
package metrics

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// PolicyCounter counts stored policies.
type PolicyCounter interface {
	CountPolicies(ctx context.Context) (int, error)
}

// Metrics is Central's metrics registry.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// AlertsRecorded counts alerts written by detection.
	AlertsRecorded prometheus.Counter
	scans          *prometheus.CounterVec
	scanDuration   *prometheus.HistogramVec
	rescans        *prometheus.CounterVec
	rescanImages   *prometheus.CounterVec
	feedUpdates    *prometheus.CounterVec
	feedSuccess    *prometheus.GaugeVec
	deliveries     *prometheus.CounterVec
	deliveryTime   *prometheus.HistogramVec
}

// countTimeout bounds the store query behind the policy gauge at scrape time.
const countTimeout = 2 * time.Second

// New registers Central's metrics, reading the policy count from pc.
func New(pc PolicyCounter, log *slog.Logger) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockade_http_requests_total",
			Help: "HTTP requests served by Central, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stockade_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route pattern and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "code"}),
		AlertsRecorded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stockade_alerts_recorded_total",
			Help: "Alerts recorded by deploy-time detection.",
		}),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockade_images_scanned_total",
			Help: "Image scan requests answered, by how (scanned, rematched, cached) and result (ok, error).",
		}, []string{"how", "result"}),
		scanDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stockade_image_scan_duration_seconds",
			Help:    "Time to answer an image scan request, by how it was answered.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900},
		}, []string{"how"}),
		rescans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockade_image_rescan_runs_total",
			Help: "Image rescan runs, by trigger (schedule, vulndb).",
		}, []string{"trigger"}),
		rescanImages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockade_image_rescan_images_total",
			Help: "Images rescanned by rescan runs, by result (ok, error).",
		}, []string{"result"}),
		feedUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockade_vulndb_feed_updates_total",
			Help: "Vulnerability feed updates, by feed and result (updated, not_modified, error).",
		}, []string{"feed", "result"}),
		feedSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stockade_vulndb_feed_last_success_timestamp_seconds",
			Help: "When each vulnerability feed was last updated or found not modified, in Unix seconds.",
		}, []string{"feed"}),
	}
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stockade_notifier_deliveries_total",
		Help: "Notifications handled by the outbox, by notifier type and outcome (delivered, retry, dead, folded).",
	}, []string{"type", "outcome"})
	m.deliveryTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "stockade_notifier_batch_duration_seconds",
		Help:    "Time to send one claimed batch of notifications, by notifier type.",
		Buckets: []float64{0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60},
	}, []string{"type"})
	policies := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "stockade_policies",
		Help: "Policies in the store.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
		defer cancel()
		n, err := pc.CountPolicies(ctx)
		if err != nil {
			log.Warn("count policies for metrics failed", "err", err)
			return math.NaN()
		}
		return float64(n)
	})
	m.reg.MustRegister(m.requests, m.duration, m.AlertsRecorded, policies, m.scans, m.scanDuration, m.rescans, m.rescanImages, m.feedUpdates, m.feedSuccess,
		m.deliveries, m.deliveryTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest records one served request.
func (m *Metrics) ObserveRequest(route string, code int, d time.Duration) {
	c := strconv.Itoa(code)
	m.requests.WithLabelValues(route, c).Inc()
	m.duration.WithLabelValues(route, c).Observe(d.Seconds())
}

// ObserveScan records one answered image scan request; how is
// "scanned", "rematched" or "cached" (empty when it failed before knowing).
func (m *Metrics) ObserveScan(how string, d time.Duration, err error) {
	if how == "" {
		how = "none"
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.scans.WithLabelValues(how, result).Inc()
	m.scanDuration.WithLabelValues(how).Observe(d.Seconds())
}

// ObserveRescan records one rescan run, the images it refreshed and those
// that failed.
func (m *Metrics) ObserveRescan(trigger string, _ time.Duration, refreshed, failed int) {
	m.rescans.WithLabelValues(trigger).Inc()
	m.rescanImages.WithLabelValues("ok").Add(float64(refreshed))
	m.rescanImages.WithLabelValues("error").Add(float64(failed))
}

// ObserveFeedUpdate records one feed's update; result is "updated",
// "not_modified" or "error".
func (m *Metrics) ObserveFeedUpdate(feed, result string, at time.Time) {
	m.feedUpdates.WithLabelValues(feed, result).Inc()
	if result != "error" {
		m.feedSuccess.WithLabelValues(feed).Set(float64(at.UnixNano()) / 1e9)
	}
}

// ObserveDelivery records n notifications that ended in outcome.
func (m *Metrics) ObserveDelivery(notifierType, outcome string, n int) {
	m.deliveries.WithLabelValues(notifierType, outcome).Add(float64(n))
}

// ObserveBatch records the time one batch of notifications took to send.
func (m *Metrics) ObserveBatch(notifierType string, d time.Duration) {
	m.deliveryTime.WithLabelValues(notifierType).Observe(d.Seconds())
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
