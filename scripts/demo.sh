#!/usr/bin/env bash
# The main job: a local multi-department cluster (five department nodes, each its own process
# with its own RocksDB dir and keys) runs a realistic, seeded workload on a shared simulated
# clock, then the ledger is audited from its bytes and a supervision summary printed.
# The nodes keep running for exploration until Ctrl-C; pass --exit to stop after the summary.
# Any other flag goes to `caseledger demo` (see `--help`): --cases, --seed, --days-per-second, ...
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cargo build --workspace --bins --quiet
exec "$CARGO_TARGET_DIR/debug/caseledger" demo "$@"
