#!/usr/bin/env bash
# Installs the Debian packages the test suite starts for real (PostgreSQL for
# the store tests, docker-registry for the image scanner's registry tests,
# etcd-server under internal/k8stest's kube-apiserver) when they are missing.
# kube-apiserver and kubectl are not Debian's (bookworm's kubernetes-client is
# 1.20, too old to talk to 1.36): hack/kube/build.sh builds both at the pinned
# version, and make test-deps runs it after this script. The test harnesses
# start and stop their own private servers; nothing here starts a system
# service.
set -euo pipefail
need=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v etcd >/dev/null || [ -x /usr/bin/etcd ] || need+=(etcd-server)
command -v protoc >/dev/null || need+=(protobuf-compiler)
compgen -G '/usr/lib/*/rsyslog/lmnsd_gtls.so' >/dev/null && [ -x /usr/sbin/rsyslogd ] || need+=(rsyslog rsyslog-gnutls)
# The dashboard's end-to-end tests drive Debian's Chromium (never a browser
# Playwright would download); its npm dependencies come from ui/package-lock.json.
[ -x /usr/bin/chromium ] || need+=(chromium)
ui="$(dirname "$0")/../ui"
if ! command -v npm >/dev/null; then
  echo "test-deps: npm is missing; the dashboard needs Node.js 20.19 or later with npm" >&2
elif [ ! -d "$ui/node_modules/@playwright/test" ]; then
  (cd "$ui" && npm ci --no-audit --no-fund)
fi
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: missing ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 0
fi
echo "test-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The package starts a cluster of its own; the tests never use it.
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
  done
fi
# So does etcd-server where systemd runs; the tests start their own etcd.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now etcd >/dev/null 2>&1 || true
fi
