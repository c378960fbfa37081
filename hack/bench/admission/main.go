// Command admission measures the admission webhook's latency under a
// constant load: it serves internal/sensor/admission over HTTPS on a
// loopback port (a certificate minted for 127.0.0.1, HTTP/2 as
// kube-apiserver speaks it), and sends one AdmissionReview every 1/-rate
// seconds for -duration, after a one-second warm-up.
//
// The review is a real one kube-apiserver sent (the envelope of
// internal/sensor/admission/testdata/reviews/create-deployments-clean.json)
// carrying a typical Deployment: microservices-demo's frontend from the
// shared data, with probes, resources, a security context and ten
// environment variables. The policy set is the whole built-in set; with
// -enforce all (the default) every DEPLOY policy gets
// FAIL_DEPLOYMENT_CREATE_ENFORCEMENT so that all of them are evaluated on
// each request.
//
// Latency is measured from the moment each request was due, not from when
// it was sent, so a generator or server that falls behind shows in the
// numbers (no coordinated omission). Output: requests, errors, outcomes,
// and p50/p90/p99/p99.9/max.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/yaml"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/sensor/admission"
)

func main() {
	rate := flag.Int("rate", 200, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to measure, after a one-second warm-up")
	envelope := flag.String("review", "internal/sensor/admission/testdata/reviews/create-deployments-clean.json", "a real AdmissionReview whose object is replaced")
	manifest := flag.String("manifest", "../shared/data/manifests/microservices-demo/kubernetes-manifests/frontend.yaml", "a YAML file whose first Deployment is sent")
	enforce := flag.String("enforce", "all", "which built-in DEPLOY policies carry FAIL_DEPLOYMENT_CREATE_ENFORCEMENT: all or none")
	flag.Parse()
	if err := run(*rate, *duration, *envelope, *manifest, *enforce); err != nil {
		fmt.Fprintln(os.Stderr, "admission bench:", err)
		os.Exit(1)
	}
}

func run(rate int, duration time.Duration, envelopePath, manifestPath, enforce string) error {
	if rate <= 0 || duration <= 0 {
		return errors.New("-rate and -duration must be positive")
	}
	body, err := review(envelopePath, manifestPath)
	if err != nil {
		return err
	}
	set, enforced, err := policies(enforce)
	if err != nil {
		return err
	}
	h := admission.New(admission.Config{ClusterName: "bench"}, fixed{set}, discard{}, slog.New(slog.DiscardHandler))

	cert, pool, err := mint()
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	defer func() { _ = srv.Close() }()
	url := "https://" + ln.Addr().String() + "/validate?timeout=10s"
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
	}}

	fmt.Printf("admission webhook: %d B AdmissionReview (Deployment frontend), %d built-in policies enforced at CREATE, %d req/s for %s over HTTPS on loopback, GOMAXPROCS=%d, %d CPUs\n",
		len(body), enforced, rate, duration, runtime.GOMAXPROCS(0), runtime.NumCPU())
	if _, err := load(client, url, body, rate, time.Second); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	res, err := load(client, url, body, rate, duration)
	if err != nil {
		return err
	}
	res.print()
	return nil
}

// review builds the AdmissionReview: the real envelope with the manifest's
// first Deployment as its object.
func review(envelopePath, manifestPath string) ([]byte, error) {
	raw, err := os.ReadFile(envelopePath)
	if err != nil {
		return nil, fmt.Errorf("read review: %w", err)
	}
	var r admissionv1.AdmissionReview
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("review %s: %w", envelopePath, err)
	}
	if r.Request == nil {
		return nil, fmt.Errorf("review %s: no request", envelopePath)
	}
	y, err := os.ReadFile(manifestPath)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	for doc := range strings.SplitSeq(string(y), "\n---") {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", manifestPath, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(j, &obj); err != nil || obj["kind"] != "Deployment" {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		if meta == nil {
			continue
		}
		meta["namespace"] = r.Request.Namespace
		meta["uid"] = "5f0e8a6c-3b1d-4c55-9a1e-0d9b1f7c2a10"
		meta["creationTimestamp"] = "2026-03-01T12:00:00Z"
		if r.Request.Object.Raw, err = json.Marshal(obj); err != nil {
			return nil, err
		}
		r.Request.Name = ""
		return json.Marshal(&r)
	}
	return nil, fmt.Errorf("manifest %s: no Deployment", manifestPath)
}

// policies is the built-in set, with creation enforcement on every DEPLOY
// policy when enforce is "all".
func policies(enforce string) (*policy.Set, int, error) {
	ps, err := policy.Builtin()
	if err != nil {
		return nil, 0, err
	}
	switch enforce {
	case "all":
		for _, p := range ps {
			if slices.Contains(p.LifecycleStages, policy.StageDeploy) {
				p.EnforcementActions = append(p.EnforcementActions, policy.EnforceFailDeploymentCreate)
			}
		}
	case "none":
	default:
		return nil, 0, fmt.Errorf("-enforce %q: want all or none", enforce)
	}
	s, err := policy.NewSet(ps)
	if err != nil {
		return nil, 0, err
	}
	n := 0
	for _, c := range s.DeployPolicies() {
		if slices.Contains(c.Policy.EnforcementActions, policy.EnforceFailDeploymentCreate) {
			n++
		}
	}
	return s, n, nil
}

type fixed struct{ s *policy.Set }

func (f fixed) Set() *policy.Set { return f.s }

type discard struct{}

func (discard) Record(admission.Event) {}

type results struct {
	latencies       []time.Duration
	errors          int
	allowed, denied int
	firstErr        error
	elapsed         time.Duration
	requested, rate int
	behind          time.Duration // the most a send started after it was due
}

// load sends one request every 1/rate seconds for d, each in its own
// goroutine so a slow answer does not delay the next request.
func load(client *http.Client, url string, body []byte, rate int, d time.Duration) (*results, error) {
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	res := &results{latencies: make([]time.Duration, 0, n), requested: n, rate: rate}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		if late := time.Since(due); late > res.behind {
			res.behind = late
		}
		wg.Go(func() {
			allowed, err := send(client, url, body)
			lat := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.errors++
				if res.firstErr == nil {
					res.firstErr = err
				}
				return
			}
			res.latencies = append(res.latencies, lat)
			if allowed {
				res.allowed++
			} else {
				res.denied++
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	if res.errors == n {
		return nil, res.firstErr
	}
	return res, nil
}

func send(client *http.Client, url string, body []byte) (bool, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("status %d: %s", resp.StatusCode, out)
	}
	var r admissionv1.AdmissionReview
	if err := json.Unmarshal(out, &r); err != nil {
		return false, fmt.Errorf("response: %w", err)
	}
	if r.Response == nil {
		return false, errors.New("response: no AdmissionResponse")
	}
	return r.Response.Allowed, nil
}

func (r *results) print() {
	slices.Sort(r.latencies)
	q := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		i := int(p * float64(len(r.latencies)-1))
		return r.latencies[i]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
	fmt.Printf("requests %d in %s (%.0f/s), errors %d, allowed %d, denied %d, generator behind by at most %s\n",
		r.requested, r.elapsed.Round(time.Millisecond), float64(r.requested)/r.elapsed.Seconds(), r.errors, r.allowed, r.denied, ms(r.behind))
	fmt.Printf("latency p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n", ms(q(0.50)), ms(q(0.90)), ms(q(0.99)), ms(q(0.999)), ms(q(1)))
	if r.firstErr != nil {
		fmt.Printf("first error: %v\n", r.firstErr)
	}
}

// mint makes a CA and a serving certificate for 127.0.0.1.
func mint() (tls.Certificate, *x509.CertPool, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "stockade-admission"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool, nil
}
