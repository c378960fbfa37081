#!/usr/bin/env bash
# Whole-process timing of `stockade deployment check --offline` (median of 5
# runs, wall time and peak RSS) on the shared manifest corpus (689 documents)
# and on a generated 1,500-object corpus. Results go to docs/benchmarks.md by
# hand, with the machine's description.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${STOCKADE:-bin/stockade}
shared=${SHARED_DATA:-../shared/data}
corpus=hack/bench/corpus
[ -d "$corpus" ] || go run ./hack/bench/gencorpus -o "$corpus" -n 500
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }

measure() { # name, args...
  local name=$1; shift
  local walls=() rss=() tmp
  tmp=$(mktemp)
  "$bin" "$@" >/dev/null 2>&1 || true # warm the page cache
  for _ in 1 2 3 4 5; do
    /usr/bin/time -o "$tmp" -f '%e %M' "$bin" "$@" >/dev/null 2>&1 || true
    local out
    out=$(tail -1 "$tmp")
    walls+=("${out% *}"); rss+=("${out#* }")
  done
  rm -f "$tmp"
  local mw mr
  mw=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 3p)
  mr=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n 3p)
  printf '%-40s median wall %ss  median peak RSS %s MiB\n' "$name" "$mw" "$((mr / 1024))"
}

measure "shared corpus (689 docs)" deployment check --offline -o json -f "$shared/manifests"
measure "generated corpus (500 files, 1500 obj)" deployment check --offline -o json -f "$corpus"
