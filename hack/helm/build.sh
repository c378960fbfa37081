#!/usr/bin/env bash
# Builds the helm CLI the chart tests run (internal/sensor/install) from the
# helm.sh/helm/v3 module pinned in hack/helm/go.mod, into a cache outside
# the source tree:
#
#   ${STOCKADE_HELM_CACHE:-$HOME/.cache/stockade/helm}/<version>/helm
#
# The binary is reused while its stamp (the version and a hash of go.sum and
# of this script) matches, so a second run costs a second.
#
# Usage: hack/helm/build.sh [--print-path]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
GO="${GO:-go}"
version="$(awk '$1 == "require" && $2 == "helm.sh/helm/v3" {print $3; exit} $1 == "helm.sh/helm/v3" {print $2; exit}' go.mod)"
if [[ ! "$version" =~ ^v3\.[0-9]+\.[0-9]+$ ]]; then
  echo "build.sh: cannot read the helm.sh/helm/v3 version from $here/go.mod (got '$version')" >&2
  exit 1
fi
cache="${STOCKADE_HELM_CACHE:-$HOME/.cache/stockade/helm}/$version"
if [ "${1:-}" = "--print-path" ]; then
  echo "$cache/helm"
  exit 0
fi
key="$version go.sum:$(sha256sum go.sum | cut -d' ' -f1) build.sh:$(sha256sum "$here/build.sh" | cut -d' ' -f1)"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -x "$cache/helm" ] && [ "$(cat "$cache/helm.key" 2>/dev/null)" = "$key" ]; then
  exit 0
fi
echo "building helm $version into $cache (a few minutes, once)" >&2
GOFLAGS=-mod=mod CGO_ENABLED=0 "$GO" build -trimpath -o "$cache/helm.tmp" \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" helm.sh/helm/v3/cmd/helm
mv "$cache/helm.tmp" "$cache/helm"
echo "$key" > "$cache/helm.key"
