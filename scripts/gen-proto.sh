#!/usr/bin/env bash
# Regenerates sdk/internal/proto/executorv1 from executor.proto with pinned generators.
# protoc comes from Debian's protobuf-compiler; the Go plugins are installed at pinned versions
# into the per-user cache so the output is byte-for-byte reproducible.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.6.2
command -v protoc >/dev/null || { echo "gen-proto: protoc not found; install it with: apt-get install protobuf-compiler" >&2; exit 1; }
cache=${HFHOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hfhost}
bin="$cache/bin/protoc-gen-go-$PROTOC_GEN_GO-grpc-$PROTOC_GEN_GO_GRPC"
if [ ! -x "$bin/protoc-gen-go" ] || [ ! -x "$bin/protoc-gen-go-grpc" ]; then
  mkdir -p "$bin"
  (cd "$root/sdk" && GOWORK=off GOBIN="$bin" GOFLAGS=-mod=mod go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO")
  (cd "$root/sdk" && GOWORK=off GOBIN="$bin" GOFLAGS=-mod=mod go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC")
fi
cd "$root/sdk/internal/proto"
PATH="$bin:$PATH" protoc -I . \
  --go_out=executorv1 --go_opt=paths=source_relative \
  --go-grpc_out=executorv1 --go-grpc_opt=paths=source_relative \
  executor.proto
