#!/usr/bin/env bash
# Runs the benchmarks of bench/ (see bench/README.md) in Release; installs redis-server, qemu-utils and h2load
# when missing. scripts/bench.sh [--quick] runs the API bench; "memory", "copy", "import-export", "copy-load", "console", "oss", "scale" the others.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
# The OSS endpoint's bench is a script of its own (ali-oss and curl against scripts/run.sh): scripts/bench.sh oss [MiB...]
[ "${1:-}" = oss ] && { shift; exec bash bench/oss/oss-bench.sh "$@"; }
ensure_packages redis-server:redis-server qemu-img:qemu-utils h2load:nghttp2-client
dotnet build bench/GrpcImages.Bench -c Release -v quiet -nologo >/dev/null
[ "${1:-}" = console ] && { ensure_packages chromium:chromium; dotnet build services/GrpcImages.Console -c Release -v quiet -nologo >/dev/null; }
exec dotnet bench/GrpcImages.Bench/bin/Release/net10.0/GrpcImages.Bench.dll "$@"
