#!/usr/bin/env bash
# Builds the Kubernetes binaries the tests start (internal/k8stest) from the
# k8s.io/kubernetes Go module pinned in hack/kube/go.mod, into a cache outside
# the source tree:
#
#   ${STOCKADE_KUBE_CACHE:-$HOME/.cache/stockade/kube}/<version>/<binary>
#
# A binary is reused while its stamp (<binary>.key: the version and a hash of
# hack/kube/go.sum and of this script) still matches, so a second run costs a
# second. The module proxy serves the Kubernetes source; nothing is vendored.
#
# Usage: hack/kube/build.sh [--controller-manager] [--print-dir]
#   default               kube-apiserver and kubectl (version-matched client)
#   --controller-manager  also kube-controller-manager (ReplicaSets and Pods
#                         for Deployments)
#   --print-dir           print the cache directory of the pinned version
#                         and exit without building
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

bins=(kube-apiserver kubectl)
print_dir=
for arg in "$@"; do
  case "$arg" in
    --controller-manager) bins+=(kube-controller-manager) ;;
    --print-dir) print_dir=1 ;;
    -h|--help) sed -n '2,17p' "$here/build.sh" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

GO="${GO:-go}"
# The version is the one go.mod pins; awk keeps this free of network access.
version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit} $1 == "require" && $2 == "k8s.io/kubernetes" {print $3; exit}' go.mod)"
if [[ ! "$version" =~ ^v([0-9]+)\.([0-9]+)\.[0-9]+$ ]]; then
  echo "build.sh: cannot read the k8s.io/kubernetes version from $here/go.mod (got '$version')" >&2
  exit 1
fi
major="${BASH_REMATCH[1]}"
minor="${BASH_REMATCH[2]}"
cache="${STOCKADE_KUBE_CACHE:-$HOME/.cache/stockade/kube}/$version"
if [ -n "$print_dir" ]; then
  echo "$cache"
  exit 0
fi

# The stamp: what the binaries are built from. internal/k8stest computes the
# same go.sum hash to tell a stale binary from a current one.
sum="$(sha256sum go.sum | cut -d' ' -f1)"
script="$(sha256sum "$here/build.sh" | cut -d' ' -f1)"
key="$version go.sum:$sum build.sh:$script"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # one build at a time per version; a second caller then reuses

todo=()
for b in "${bins[@]}"; do
  if [ -x "$cache/$b" ] && [ "$(cat "$cache/$b.key" 2>/dev/null)" = "$key" ]; then
    echo "kube: reusing $cache/$b" >&2
  else
    todo+=("$b")
  fi
done
[ ${#todo[@]} -eq 0 ] && exit 0

# There is no git checkout of Kubernetes here to take a commit from: the
# module's content hash in go.sum names the exact source instead.
commit="$(awk -v v="$version" '$1 == "k8s.io/kubernetes" && $2 == v {print $3; exit}' go.sum)"
date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
x=()
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  x+=("-X '$pkg.gitVersion=$version'" "-X '$pkg.gitMajor=$major'" "-X '$pkg.gitMinor=$minor'"
      "-X '$pkg.gitCommit=$commit'" "-X '$pkg.gitTreeState=clean'" "-X '$pkg.buildDate=$date'")
done
ldflags="-s -w ${x[*]}"

for b in "${todo[@]}"; do
  echo "kube: building $b $version into $cache (a few minutes cold)" >&2
  start=$(date +%s)
  tmp="$(mktemp "$cache/.$b.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  CGO_ENABLED=0 nice -n 10 "$GO" build -trimpath -ldflags "$ldflags" -o "$tmp" "k8s.io/kubernetes/cmd/$b"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$cache/$b"
  trap - EXIT
  printf '%s\n' "$key" >"$cache/$b.key"
  echo "kube: built $b in $(( $(date +%s) - start ))s" >&2
done
