// Command dashboard seeds a running Central with a large estate — by default
// 10,000 deployments over 4 clusters and 100 namespaces, recorded through
// POST /v1/detect/deploy/yaml so that the built-in policies raise about
// 50,000 alerts the way they would in use — and then measures the latency of
// the list calls the dashboard makes (a page of 50 each), printing p50, p95
// and max per call. hack/bench/dashboard.sh starts Central, runs this, and
// then times the dashboard's first meaningful paint in Chromium.
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dashboard bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		central     = flag.String("central", cmp.Or(os.Getenv("STOCKADE_URL"), "https://127.0.0.1:18443"), "Central's URL")
		password    = flag.String("password", os.Getenv("STOCKADE_ADMIN_PASSWORD"), "the admin password (env STOCKADE_ADMIN_PASSWORD)")
		deployments = flag.Int("deployments", 10000, "deployments to record (0 measures what is there)")
		batch       = flag.Int("batch", 200, "deployments per detect request")
		requests    = flag.Int("requests", 100, "requests per measured call")
		print       = flag.Int("print", 0, "print the YAML of the first N deployments and exit")
	)
	flag.Parse()
	if *print > 0 {
		var b bytes.Buffer
		for i := range *print {
			writeDeployment(&b, i)
		}
		_, err := os.Stdout.Write(b.Bytes())
		return err
	}
	if *password == "" {
		return errors.New("the admin password is needed: -password or STOCKADE_ADMIN_PASSWORD")
	}
	c := &client{
		base:     strings.TrimSuffix(*central, "/"),
		password: *password,
		// The benchmark talks to a Central it just started, whose
		// certificate is issued by the CA in that Central's data directory.
		http: &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a local benchmark against its own Central
		}},
	}
	ctx := context.Background()
	if *deployments > 0 {
		if err := seed(ctx, c, *deployments, *batch); err != nil {
			return err
		}
	}
	var total struct {
		Total int `json:"total"`
	}
	if err := c.getJSON(ctx, "/v1/alerts?limit=1", &total); err != nil {
		return err
	}
	var deps struct {
		Total int `json:"total"`
	}
	if err := c.getJSON(ctx, "/v1/deployments?limit=1", &deps); err != nil {
		return err
	}
	fmt.Printf("store: %d deployments, %d alerts\n\n", deps.Total, total.Total)
	fmt.Printf("%-58s %8s %8s %8s\n", "call (page of 50)", "p50", "p95", "max")
	for _, call := range calls {
		lat, err := measure(ctx, c, call, *requests)
		if err != nil {
			return err
		}
		fmt.Printf("%-58s %8s %8s %8s\n", call, ms(lat, 50), ms(lat, 95), ms(lat, 100))
	}
	return nil
}

// calls are the list calls of the dashboard's pages, as the pages make them.
var calls = []string{
	"/v1/alerts/summary?groupBy=severity,category,day,namespace&state=ACTIVE",
	"/v1/alerts/summary?groupBy=severity,category,day,namespace&state=ACTIVE&cluster=cluster-2&namespace=ns-021",
	"/v1/deployments?sort=-risk&limit=10",
	"/v1/deployments?cluster=cluster-1&namespace=ns-021&sort=-risk&limit=10",
	"/v1/deployments?sort=-risk&limit=50",
	"/v1/deployments?sort=risk&offset=5000&limit=50",
	"/v1/alerts?state=ACTIVE&sort=-time&limit=50",
	"/v1/alerts?state=ACTIVE&sort=-time&offset=20000&limit=50",
	"/v1/alerts?state=ACTIVE&sort=-severity&limit=50",
	"/v1/alerts?state=ACTIVE&severity=HIGH_SEVERITY&cluster=cluster-1&limit=50",
	"/v1/alerts?query=svc-0042&limit=50",
	"/v1/alerts?sort=policy&limit=50",
	"/v1/deployments?limit=50",
	"/v1/deployments?sort=-updated&offset=5000&limit=50",
	"/v1/deployments?query=svc-07&limit=50",
	"/v1/policies?limit=50",
	"/v1/policies?sort=-severity&limit=50",
}

func ms(lat []time.Duration, pct int) string {
	i := (len(lat)*pct + 99) / 100
	i = min(max(i-1, 0), len(lat)-1)
	return fmt.Sprintf("%.1fms", float64(lat[i].Microseconds())/1000)
}

func measure(ctx context.Context, c *client, path string, n int) ([]time.Duration, error) {
	// One call first, unmeasured, as a page's first load warms the caches
	// the next ones find.
	if err := c.getJSON(ctx, path, nil); err != nil {
		return nil, err
	}
	lat := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if err := c.getJSON(ctx, path, nil); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return lat, nil
}

// seed records n deployments, batch per request, spread over 4 clusters of
// 25 namespaces.
func seed(ctx context.Context, c *client, n, batch int) error {
	t0 := time.Now()
	for start := 0; start < n; start += batch {
		byCluster := map[string]*bytes.Buffer{}
		for i := start; i < min(start+batch, n); i++ {
			cl := fmt.Sprintf("cluster-%d", i%4)
			if byCluster[cl] == nil {
				byCluster[cl] = &bytes.Buffer{}
			}
			writeDeployment(byCluster[cl], i)
		}
		for cl, yaml := range byCluster {
			body := map[string]any{"yaml": yaml.String(), "record": true, "cluster": cl}
			if err := c.post(ctx, "/v1/detect/deploy/yaml", body); err != nil {
				return fmt.Errorf("record deployments %d–%d: %w", start, start+batch-1, err)
			}
		}
		if (start/batch)%10 == 9 {
			fmt.Fprintf(os.Stderr, "recorded %d of %d deployments (%.0f/s)\n", start+batch, n, float64(start+batch)/time.Since(t0).Seconds())
		}
	}
	fmt.Fprintf(os.Stderr, "recorded %d deployments in %.1fs\n", n, time.Since(t0).Seconds())
	return nil
}

// writeDeployment writes deployment i: a hardened service whose weaknesses
// vary with i, as an estate's do, so that the built-in policies raise about
// five alerts per deployment across every severity.
func writeDeployment(w *bytes.Buffer, i int) {
	ns := fmt.Sprintf("ns-%03d", i%100)
	sec := `
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          runAsNonRoot: true
          capabilities:
            drop: ["ALL"]`
	switch i % 10 {
	case 0:
		sec = `
          privileged: true`
	case 1:
		sec += `
            add: ["NET_ADMIN", "SYS_ADMIN"]`
	case 2:
		sec = `
          allowPrivilegeEscalation: true`
	}
	tag := fmt.Sprintf("1.%d.%d", i%7, i%13)
	if i%9 == 0 {
		tag = "latest"
	}
	resources := `
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {cpu: "1", memory: 512Mi}`
	if i%4 == 0 || i%7 == 3 {
		resources = ""
	}
	sa := fmt.Sprintf("svc-%05d", i)
	if i%5 == 0 {
		sa = "default"
	}
	probes := `
        livenessProbe: {httpGet: {path: /healthz, port: 8080}}
        readinessProbe: {httpGet: {path: /ready, port: 8080}}`
	if i%3 == 1 {
		probes = ""
	}
	hostNet := ""
	if i%50 == 0 {
		hostNet = "\n      hostNetwork: true"
	}
	fmt.Fprintf(w, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-%05d
  namespace: %s
  labels: {app: svc-%05d, team: team-%d}
  annotations: {owner: bench@example.com}
spec:
  replicas: %d
  selector:
    matchLabels: {app: svc-%05d}
  template:
    metadata:
      labels: {app: svc-%05d, team: team-%d}
    spec:
      serviceAccountName: %s%s
      securityContext:
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: app
        image: registry.example.com/team-%d/svc-%05d:%s
        ports: [{name: http, containerPort: 8080}]%s%s
        securityContext:%s
`, i, ns, i, i%40, 1+i%3, i, i, i%40, sa, hostNet, i%40, i, tag, probes, resources, sec)
}

type client struct {
	base, password string
	http           *http.Client
}

func (c *client) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth("admin", c.password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close() //nolint:errcheck // the body was read in full; closing a read loses nothing
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %.300s", method, path, resp.Status, out)
	}
	return out, nil
}

func (c *client) getJSON(ctx context.Context, path string, v any) error {
	b, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil || v == nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", path, err)
	}
	return nil
}

func (c *client) post(ctx context.Context, path string, body any) error {
	_, err := c.do(ctx, http.MethodPost, path, body)
	return err
}
