#!/usr/bin/env bash
# The benchmarks of BENCHMARKS.md, each one command: builds the workspace (the same build the
# tests and the demo use), then runs `caseledger bench <what> [flags]`:
#   ./scripts/bench.sh write [--levels 1,16,64,256] [--seconds 10]   write throughput and latency
#   ./scripts/bench-etcd.sh [flags]                                    the same, beside etcd
#   ./scripts/bench.sh scaling [--sizes 3,5] [--payloads 0,4096]       scaling curve
#   ./scripts/bench.sh history --entries 1000000                       audit rate, catch-up, footprint
#   ./scripts/bench.sh failover --etcd [--cuts 10]                     leader cut off, beside etcd (root)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cargo build --workspace --bins --quiet
exec "$CARGO_TARGET_DIR/debug/caseledger" bench "$@"
