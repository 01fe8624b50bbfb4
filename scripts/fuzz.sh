#!/usr/bin/env bash
# Runs every coverage-guided fuzz target (fuzz/fuzz_targets/, properties in fuzz/src/lib.rs)
# for a bounded time with cargo-fuzz (libFuzzer), starting from the committed seed corpus
# (fuzz/corpus/<target>/). Fails on the first crash, leak, timeout or broken property; the
# input that triggered it is saved under fuzz/artifacts/<target>/ and printed.
#
#   scripts/fuzz.sh [--seconds N] [--target NAME]... [--keep-corpus]
#
# --seconds N      time per target (default 30)
# --target NAME    run only this target (repeatable); default all of them
# --keep-corpus    add the inputs libFuzzer finds to fuzz/corpus/ (default: a temp dir)
#
# cargo-fuzz needs nightly flags (-Zsanitizer): RUSTC_BOOTSTRAP=1 allows them on the stable
# toolchain. The fuzz crate is its own workspace with its own target dir, and depends on
# proto-types only, so the sanitizer flags never reach RocksDB's C++.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
seconds=30
targets=()
keep=0
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --keep-corpus) keep=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet
fi

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CASELEDGER_FUZZ_TARGET_DIR:-/var/tmp/caseledger-fuzz-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cd fuzz
((${#targets[@]})) || mapfile -t targets < <(cargo fuzz list)

work="$(mktemp -d -t caseledger-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# Debug assertions on: integer overflow is a crash, as it is in the test suite.
echo "fuzz: building ${#targets[@]} targets (target dir $CARGO_TARGET_DIR)"
if ! cargo fuzz build --debug-assertions >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  exit 2
fi

summary=()
failed=0
for t in "${targets[@]}"; do
  mkdir -p "artifacts/$t"
  if ((keep)); then out="corpus/$t"; else out="$work/$t"; mkdir -p "$out"; fi
  echo "fuzz: $t for ${seconds}s"
  set +e
  cargo fuzz run --debug-assertions "$t" "$out" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$work/$t.log" 2>&1
  status=$?
  set -e
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" | grep -o '[0-9]*$' || echo '?')"
  cov="$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -n 1 | grep -o '[0-9]*' || echo '?')"
  if ((status)); then
    failed=1
    echo "fuzz: $t FAILED (exit $status)"
    grep -E 'panicked|ERROR|SUMMARY|Test unit written|assertion' "$work/$t.log" | head -n 20
    summary+=("$t: FAILED after $execs execs")
  else
    summary+=("$t: ok, $execs execs in ${seconds}s, coverage $cov")
  fi
done
echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
exit $failed
