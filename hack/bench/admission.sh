#!/usr/bin/env bash
# Admission webhook latency: a typical Deployment's AdmissionReview sent at a
# constant 200 requests/s for 10 s over loopback HTTPS to the handler, with
# every built-in DEPLOY policy enforced (so all are evaluated). Prints
# p50/p90/p99/p99.9/max. Target: p99 under 5 ms. Extra arguments go to the
# generator (-rate, -duration, -enforce none, -manifest FILE).
set -euo pipefail
cd "$(dirname "$0")/../.."
shared=${SHARED_DATA:-../shared/data}
go build -o /tmp/stockade-admission-bench ./hack/bench/admission
exec /tmp/stockade-admission-bench -manifest "$shared/manifests/microservices-demo/kubernetes-manifests/frontend.yaml" "$@"
