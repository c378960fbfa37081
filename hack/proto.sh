#!/usr/bin/env bash
# Generates the Go code of the protobuf definitions under api/ into OUTDIR
# (default: api itself, beside each .proto file). protoc comes from Debian's
# protobuf-compiler (make test-deps installs it); the two Go plugins are
# installed at pinned versions into ~/.cache/stockade/tools on first use.
# The freshness test in api/sensor/v1 runs this into a temporary directory
# and compares.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
TOOLS=${TOOLS:-$HOME/.cache/stockade/tools}
out=${1:-api}

command -v protoc >/dev/null || { echo "proto: protoc not found; install Debian's protobuf-compiler (make test-deps)" >&2; exit 1; }
gen_go=$TOOLS/protoc-gen-go-$PROTOC_GEN_GO_VERSION
gen_grpc=$TOOLS/protoc-gen-go-grpc-$PROTOC_GEN_GO_GRPC_VERSION
install_tool() { # pkg version dest
  local tmp
  tmp=$(mktemp -d)
  GOBIN=$tmp go install "$1@$2"
  mkdir -p "$TOOLS"
  mv "$tmp/$(basename "$1")" "$3"
  rmdir "$tmp"
}
[ -x "$gen_go" ] || install_tool google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION" "$gen_go"
[ -x "$gen_grpc" ] || install_tool google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION" "$gen_grpc"

mkdir -p "$out"
find api -name '*.proto' -printf '%P\n' | sort | while read -r f; do
  protoc -I api \
    --plugin=protoc-gen-go="$gen_go" --go_out="$out" --go_opt=paths=source_relative \
    --plugin=protoc-gen-go-grpc="$gen_grpc" --go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
    "$f"
done
