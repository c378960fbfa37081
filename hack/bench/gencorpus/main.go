// Command gencorpus writes a synthetic manifest corpus for the deployment
// check benchmark: N files, each with a workload, a Service and a
// NetworkPolicy (3 objects), varied so that policies both fire and pass.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("o", "hack/bench/corpus", "output directory")
	n := flag.Int("n", 500, "number of files")
	flag.Parse()
	if err := run(*out, *n); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}

func run(out string, n int) error {
	// The corpus is synthetic and public, part of the working tree: it gets
	// the modes of any checked-out file, not a secret's.
	if err := os.MkdirAll(out, 0o755); err != nil { //nolint:gosec // G301: a public benchmark corpus, see above
		return err
	}
	kinds := []string{"Deployment", "StatefulSet", "DaemonSet", "Deployment", "Deployment"}
	for i := 0; i < n; i++ {
		var b strings.Builder
		kind := kinds[i%len(kinds)]
		name := fmt.Sprintf("svc-%04d", i)
		ns := fmt.Sprintf("team-%d", i%7)
		privileged := i%11 == 0
		tag := "1.25." + fmt.Sprint(i%9)
		if i%5 == 0 {
			tag = "latest"
		}
		fmt.Fprintf(&b, `apiVersion: apps/v1
kind: %s
metadata:
  name: %s
  namespace: %s
  labels:
    app: %s
    owner: team-%d
spec:
`, kind, name, ns, name, i%7)
		if kind != "DaemonSet" {
			fmt.Fprintf(&b, "  replicas: %d\n", 1+i%3)
		}
		if kind == "StatefulSet" {
			fmt.Fprintf(&b, "  serviceName: %s\n", name)
		}
		fmt.Fprintf(&b, `  selector:
    matchLabels:
      app: %s
  template:
    metadata:
      labels:
        app: %s
    spec:
      serviceAccountName: %s
      containers:
        - name: app
          image: registry.example.com/shop/%s:%s
          ports:
            - containerPort: 8080
              name: http
          env:
            - name: LOG_LEVEL
              value: info
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: %s-db
                  key: password
          securityContext:
            privileged: %t
            allowPrivilegeEscalation: %t
            readOnlyRootFilesystem: %t
            capabilities:
              drop: ["ALL"]
`, name, name, name, name, tag, name, privileged, i%3 == 0, i%4 != 0)
		if i%2 == 0 {
			b.WriteString(`          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              cpu: "1"
              memory: 512Mi
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
          readinessProbe:
            httpGet:
              path: /ready
              port: http
`)
		}
		if i%13 == 0 {
			b.WriteString(`          volumeMounts:
            - name: docker
              mountPath: /var/run/docker.sock
      volumes:
        - name: docker
          hostPath:
            path: /var/run/docker.sock
`)
		}
		svcType := "ClusterIP"
		if i%6 == 0 {
			svcType = "NodePort"
		}
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
spec:
  type: %s
  selector:
    app: %s
  ports:
    - port: 80
      targetPort: http
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: %s
  namespace: %s
spec:
  podSelector:
    matchLabels:
      app: %s
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector: {}
`, name, ns, svcType, name, name, ns, name)
		if err := os.WriteFile(filepath.Join(out, name+".yaml"), []byte(b.String()), 0o644); err != nil { //nolint:gosec // G306: a public benchmark corpus
			return err
		}
	}
	return nil
}
