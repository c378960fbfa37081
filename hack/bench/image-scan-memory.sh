#!/usr/bin/env bash
# Peak RSS and wall time of `stockade image scan --local` on a ≈1.1 GiB image
# (issue 3: "scanning a 1 GiB image stays under 200 MiB RSS"): bookworm dpkg
# status, 4 × 256 MiB of incompressible bytes, gofmt, a 100 MiB jar, pushed by
# hack/bench/bigimage to a docker-registry on loopback. One cold run (empty
# layer cache) and one warm run (the cache the cold run filled). Everything
# lives in a temporary directory, removed at the end with the registry stopped.
# Results go to docs/benchmarks.md by hand, with the machine's description.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${STOCKADE:-bin/stockade}
shared=${SHARED_DATA:-../shared/data}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }
command -v docker-registry >/dev/null || { echo "needs docker-registry: apt-get install -y docker-registry" >&2; exit 2; }
[ -x "$bin" ] || { echo "no $bin: run make build" >&2; exit 2; }

work=$(mktemp -d)
regpid=
cleanup() {
  if [ -n "$regpid" ]; then kill "$regpid" 2>/dev/null || true; wait "$regpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" vulndb import --vulndb "$work/vulndb.sqlite" \
  "$shared/vulns/osv-go/go-vulndb-osv.jsonl" "$shared/vulns/ghsa-sample" >/dev/null

echo "building and pushing the image…" >&2
read -r host regpid < <(go run ./hack/bench/bigimage -dir "$work" -shared "$shared" -repo big:1 \
  -go-binary "$(go env GOROOT)/bin/gofmt")
echo "registry $host (pid $regpid)" >&2

measure() { # name
  local out
  XDG_CACHE_HOME="$work/cache" /usr/bin/time -o "$work/time" -f '%M %e' \
    "$bin" image scan --local --insecure-registry --image "$host/big:1" -o json \
    --vulndb "$work/vulndb.sqlite" >"$work/scan.json" 2>"$work/scan.err" ||
    { echo "$1 scan failed:" >&2; cat "$work/scan.err" >&2; exit 1; }
  out=$(tail -1 "$work/time")
  # 88 dpkg packages, the jar, gofmt's stdlib: fewer means a scan that missed files.
  printf '%-5s peak RSS %4d MiB  wall %ss  components %s\n' "$1" "$((${out% *} / 1024))" "${out#* }" \
    "$(grep -c '"purl"' "$work/scan.json")"
}

measure cold
measure warm
