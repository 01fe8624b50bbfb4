#!/usr/bin/env bash
# Fault-injection soak: the kill -9 loop and the partition loop of tests/tests/faults.rs (and the
# full-disk scenario once) run for --minutes each instead of the short CI version, on real
# `caseledger-node` processes. Every scenario ends with the full checks (exactly once, converged
# heads and roots, audit intact, linearizable history). Prints the seeds; replay one with
# CASELEDGER_FAULT_SEED=<seed>. Half the workload's writers submit batches of --batch cases' next
# steps (`POST /v1/entries/batch`, default 4; 1: every writer submits one at a time).
#   scripts/soak.sh --minutes 30 [--seed N] [--batch B]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=30
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --seed) export CASELEDGER_FAULT_SEED="$2"; shift 2 ;;
    --batch) export CASELEDGER_WORKLOAD_BATCH="$2"; shift 2 ;;
    *) echo "usage: scripts/soak.sh [--minutes N] [--seed N] [--batch B]" >&2; exit 2 ;;
  esac
done
source scripts/prereqs.sh
export CASELEDGER_SOAK_SECS=$((minutes * 60))
cargo build --workspace --bins
# One scenario at a time, so each has the machine's cores; output shown as it comes.
for t in kill_nine_of_leader_follower_and_majority_in_turn_loses_nothing \
         a_partitioned_leader_is_replaced_and_its_stale_reads_are_caught \
         a_node_on_a_full_disk_stops_and_catches_up_once_space_is_freed; do
  echo "== soak: $t (${minutes} min)"
  start=$(date +%s)
  cargo test -p caseledger-tests --test faults -- --include-ignored --exact "$t" --nocapture --test-threads 1
  echo "== soak: $t passed in $(( $(date +%s) - start )) s"
done
