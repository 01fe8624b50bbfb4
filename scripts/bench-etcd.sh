#!/usr/bin/env bash
# caseledger beside etcd (BENCHMARKS.md §2): installs Debian's etcd (etcd-server, etcd-client)
# if missing, builds the workspace, then runs `caseledger bench write --etcd`: a 3-node
# caseledger cluster and then a 3-member etcd cluster (loopback, temp dirs, fsync on both),
# driven by the same load generator at the same levels for the same time, and prints both
# tables, the ratio, and how etcd's figures compare with the reference quoted in issue 7.
# Any flag goes to `caseledger bench write` (see `--help`): --levels, --seconds, ...
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v etcd >/dev/null 2>&1; then
    echo "bench-etcd: installing Debian's etcd (etcd-server, etcd-client)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client >/dev/null
fi
source scripts/prereqs.sh
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cargo build --workspace --bins --quiet
exec "$CARGO_TARGET_DIR/debug/caseledger" bench write --etcd "$@"
