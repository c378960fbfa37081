package sensor

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/sensor/admission"
	"github.com/stockade-dev/stockade/internal/sensor/enforce"
)

// syncDoneAt is the index of the SyncDone in msgs, or -1.
func syncDoneAt(msgs []*sensorv1.SensorMessage) int {
	return slices.IndexFunc(msgs, func(m *sensorv1.SensorMessage) bool { return m.GetSyncDone() != nil })
}

// TestSensor runs the whole Sensor against a real API server and a
// stand-in Central: full sync, live deployment and alert events,
// enforcement, admission decisions and their records, policy pushes,
// health, metrics and a reconnect.
func TestSensor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(f.cluster.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	ns := f.cluster.NewNamespace(t)
	t.Cleanup(func() {
		_ = cs.AppsV1().Deployments(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
	})
	before, err := cs.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "before", false, nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	r := start(t, f.config("lab"))
	waitFor(t, "the first full sync", 30*time.Second, func() bool {
		st := f.central.stream(0)
		return st != nil && syncDoneAt(st.all()) >= 0
	})
	first := f.central.stream(0).all()
	if _, ok := first[0].GetMsg().(*sensorv1.SensorMessage_Hello); !ok {
		t.Fatalf("first message %v, want Hello", first[0])
	}
	if h := first[0].GetHello(); h.GetClusterName() != "lab" || h.GetKubernetesVersion() != f.cluster.Version() || !slices.Contains(h.GetCapabilities(), "admission-control") {
		t.Errorf("hello = %v", h)
	}
	deps, _ := messagesOf(first[:syncDoneAt(first)], string(before.UID))
	if len(deps) != 1 || deps[0].GetAction() != sensorv1.DeploymentEvent_CREATE || !strings.Contains(string(deps[0].GetDeploymentJson()), `"Name":"before"`) {
		t.Fatalf("full sync: deployment events of %q before SyncDone = %v", before.Name, deps)
	}
	waitFor(t, "/readyz", 10*time.Second, func() bool { code, _ := r.get(t, "/readyz"); return code == http.StatusOK })
	if code, body := r.get(t, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}

	t.Run("live changes, detection and enforcement", func(t *testing.T) {
		priv, err := cs.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "priv", true, nil), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id := string(priv.UID)
		waitFor(t, "the privileged deployment's event and alert", 10*time.Second, func() bool {
			deps, alerts := messagesOf(f.central.stream(0).all(), id)
			return len(deps) > 0 && len(alerts) > 0
		})
		deps, alerts := messagesOf(f.central.stream(0).all(), id)
		if deps[0].GetAction() != sensorv1.DeploymentEvent_CREATE || deps[0].GetContentHash() == "" {
			t.Errorf("deployment event = %v", deps[0])
		}
		if a := alerts[0]; a.GetState() != sensorv1.AlertState_ACTIVE || !lists(a, privilegedID) || a.GetTimeUnixNano() == 0 {
			t.Errorf("alert = %v", a)
		}
		// The built-in privileged policy carries SCALE_TO_ZERO.
		waitFor(t, "scale to zero", 10*time.Second, func() bool {
			d, err := cs.AppsV1().Deployments(ns).Get(ctx, "priv", metav1.GetOptions{})
			return err == nil && d.Spec.Replicas != nil && *d.Spec.Replicas == 0 && d.Annotations[enforce.AnnotationScaledToZero] != ""
		})

		if err := cs.AppsV1().Deployments(ns).Delete(ctx, "priv", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "removal and resolution", 10*time.Second, func() bool {
			deps, alerts := messagesOf(f.central.stream(0).all(), id)
			return deps[len(deps)-1].GetAction() == sensorv1.DeploymentEvent_REMOVE && alerts[len(alerts)-1].GetState() == sensorv1.AlertState_RESOLVED
		})
	})

	t.Run("admission", func(t *testing.T) {
		resp := r.review(t, f.ca, deployment(ns, "denied", true, nil))
		if resp.Allowed || !strings.Contains(resp.Result.Message, privilegedName) {
			t.Fatalf("privileged deployment: allowed=%v %v", resp.Allowed, resp.Result)
		}
		waitFor(t, "the ATTEMPTED alert", 5*time.Second, func() bool {
			for _, m := range f.central.stream(0).all() {
				if a := m.GetAlert(); a.GetState() == sensorv1.AlertState_ATTEMPTED && lists(a, privilegedID) &&
					strings.Contains(string(a.GetDeploymentJson()), `"Name":"denied"`) {
					return true
				}
			}
			return false
		})
		if resp := r.review(t, f.ca, deployment(ns, "clean", false, nil)); !resp.Allowed {
			t.Errorf("clean deployment denied: %v", resp.Result)
		}
		glass := deployment(ns, "glass", true, nil)
		glass.Annotations = map[string]string{admission.BreakGlassAnnotation: "INC-42"}
		if resp := r.review(t, f.ca, glass); !resp.Allowed {
			t.Errorf("break-glass denied: %v", resp.Result)
		}
		waitFor(t, "the break-glass alert", 5*time.Second, func() bool {
			for _, m := range f.central.stream(0).all() {
				if a := m.GetAlert(); a.GetState() == sensorv1.AlertState_ACTIVE && a.GetBreakGlass() && lists(a, privilegedID) {
					return true
				}
			}
			return false
		})
		// Excluded: Sensor's own namespace.
		if resp := r.review(t, f.ca, deployment("stockade", "own", true, nil)); !resp.Allowed {
			t.Errorf("privileged deployment in Sensor's namespace denied: %v", resp.Result)
		}

		// Central drops the enforcement: the webhook follows within a second.
		pushed := time.Now()
		f.central.push(t, enforcedDoc(t, false))
		for {
			resp := r.review(t, f.ca, deployment(ns, "denied", true, nil))
			if resp.Allowed {
				break
			}
			if time.Since(pushed) > time.Second {
				t.Fatalf("still denied %s after the policy push", time.Since(pushed))
			}
			time.Sleep(20 * time.Millisecond)
		}
		f.central.push(t, enforcedDoc(t, true))
		waitFor(t, "enforcement back", time.Second, func() bool { return !r.review(t, f.ca, deployment(ns, "denied", true, nil)).Allowed })
	})

	t.Run("metrics", func(t *testing.T) {
		code, body := r.get(t, "/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics = %d", code)
		}
		for series, check := range map[string]func(string) bool{
			`stockade_sensor_admission_decisions_total{result="denied"}`:                                func(v string) bool { return v != "" && v != "0" },
			`stockade_sensor_admission_decisions_total{result="break_glass"}`:                           func(v string) bool { return v == "1" },
			`stockade_sensor_admission_decisions_total{result="allowed"}`:                               func(v string) bool { return v != "" && v != "0" },
			`stockade_sensor_central_connected`:                                                         func(v string) bool { return v == "1" },
			`stockade_sensor_events_sent_total`:                                                         func(v string) bool { return v != "" && v != "0" },
			`stockade_sensor_events_dropped_total`:                                                      func(v string) bool { return v == "0" },
			`stockade_sensor_events_buffered`:                                                           func(v string) bool { return v != "" },
			`stockade_sensor_detection_alert_changes_total{state="RESOLVED"}`:                           func(v string) bool { return v == "1" },
			`stockade_sensor_enforcement_actions_total{action="SCALE_TO_ZERO_ENFORCEMENT",result="ok"}`: func(v string) bool { return v == "1" },
			`stockade_sensor_deployment_events_total{action="REMOVE"}`:                                  func(v string) bool { return v == "1" },
			`stockade_sensor_policy_generation`:                                                         func(v string) bool { return v == "3" },
		} {
			if v := metricValue(body, series); !check(v) {
				t.Errorf("%s = %q", series, v)
			}
		}
	})

	t.Run("reconnect sends the full state again", func(t *testing.T) {
		close(f.central.stream(0).kill)
		waitFor(t, "the second full sync", 20*time.Second, func() bool {
			st := f.central.stream(1)
			return st != nil && syncDoneAt(st.all()) >= 0
		})
		msgs := f.central.stream(1).all()
		deps, _ := messagesOf(msgs[:syncDoneAt(msgs)], string(before.UID))
		if len(deps) != 1 {
			t.Errorf("second full sync: events of %q = %v", before.Name, deps)
		}
		// The deployment "before" violates some built-in policies: its
		// alerts are part of the full state.
		_, alerts := messagesOf(msgs[:syncDoneAt(msgs)], string(before.UID))
		if len(alerts) != 1 || alerts[0].GetState() != sensorv1.AlertState_ACTIVE || len(alerts[0].GetAlerts()) == 0 {
			t.Errorf("second full sync: alerts of %q = %v", before.Name, alerts)
		}
	})
}

// A Sensor restarted while Central is away decides from the policy set it
// cached.
func TestCachedPoliciesDecideWhileCentralIsAway(t *testing.T) {
	f := newFixture(t)
	cache := filepath.Join(t.TempDir(), "cache")
	cfg := f.config("cached")
	cfg.CacheDir = cache
	r := start(t, cfg)
	waitFor(t, "the policy set", 30*time.Second, func() bool { code, _ := r.get(t, "/readyz"); return code == http.StatusOK })
	r.stop(t)
	f.central.stop()
	if _, err := os.Stat(filepath.Join(cache, PolicyCacheFile)); err != nil {
		t.Fatalf("no policy cache: %v", err)
	}

	r = start(t, cfg)
	waitFor(t, "readiness without Central", 30*time.Second, func() bool { code, _ := r.get(t, "/readyz"); return code == http.StatusOK })
	if resp := r.review(t, f.ca, deployment("shop", "priv", true, nil)); resp.Allowed || !strings.Contains(resp.Result.Message, privilegedName) {
		t.Errorf("privileged deployment without Central: allowed=%v %v", resp.Allowed, resp.Result)
	}
	// Without a cache and without Central there is no policy set: not
	// ready, and the webhook fails open.
	cfg.CacheDir = ""
	cfg.ClusterName = "uncached"
	r2 := start(t, cfg)
	time.Sleep(500 * time.Millisecond)
	if code, body := r2.get(t, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no policy set") {
		t.Errorf("/readyz without policies = %d %q", code, body)
	}
	if resp := r2.review(t, f.ca, deployment("shop", "priv", true, nil)); !resp.Allowed || len(resp.Warnings) == 0 {
		t.Errorf("without policies: allowed=%v warnings=%q", resp.Allowed, resp.Warnings)
	}
}

// New reports a configuration that cannot work before anything runs.
func TestNewRefusesBrokenConfiguration(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("not: [a kubeconfig"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := Config{Central: "127.0.0.1:1", InitBundle: filepath.Join(dir, "missing.yaml"), ClusterName: "x", Namespace: "stockade",
		Kubeconfig: kubeconfig, LogLevel: "info", LogFormat: "text"}
	if _, err := New(context.Background(), base, nil); err == nil || !strings.Contains(err.Error(), "--init-bundle") {
		t.Errorf("missing bundle: %v", err)
	}
	f := newFixture(t)
	base.InitBundle = f.bundle
	if _, err := New(context.Background(), base, nil); err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
		t.Errorf("bad kubeconfig: %v", err)
	}
	base.Kubeconfig = f.cluster.Kubeconfig()
	base.AdmissionListen, base.AdmissionCert, base.AdmissionKey = "127.0.0.1:0", filepath.Join(dir, "nope.crt"), f.key
	if _, err := New(context.Background(), base, nil); err == nil || !strings.Contains(err.Error(), "--admission-cert") {
		t.Errorf("missing certificate: %v", err)
	}
	busy := start(t, f.config("busy"))
	base.AdmissionListen, base.AdmissionCert = "", ""
	base.AdmissionKey = ""
	base.HealthListen = busy.HealthAddr()
	if _, err := New(context.Background(), base, nil); err == nil || !strings.Contains(err.Error(), "--health-listen") {
		t.Errorf("port in use: %v", err)
	}
}

// With --admission-enforce=false the webhook admits what enforced policies
// forbid, warns, and leaves the alert to detection.
func TestInformMode(t *testing.T) {
	f := newFixture(t)
	cfg := f.config("inform")
	cfg.AdmissionEnforce = false
	r := start(t, cfg)
	waitFor(t, "/readyz", 30*time.Second, func() bool { code, _ := r.get(t, "/readyz"); return code == http.StatusOK })
	resp := r.review(t, f.ca, deployment("shop", "priv", true, nil))
	if !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "would deny") || !strings.Contains(resp.Warnings[0], privilegedName) {
		t.Fatalf("inform mode: allowed=%v warnings=%q", resp.Allowed, resp.Warnings)
	}
	_, body := r.get(t, "/metrics")
	if v := metricValue(body, `stockade_sensor_admission_decisions_total{result="inform"}`); v != "1" {
		t.Errorf("inform decisions = %q", v)
	}
	for _, m := range f.central.stream(0).all() {
		if a := m.GetAlert(); a != nil && (a.GetState() == sensorv1.AlertState_ATTEMPTED || a.GetBreakGlass()) {
			t.Errorf("admission sent an alert in inform mode: %v", a)
		}
	}
}
