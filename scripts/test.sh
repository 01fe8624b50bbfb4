#!/usr/bin/env bash
# The whole test suite: every crate's unit and integration tests, including the real-process
# cluster tests and the independent Python verifier of docs/FORMAT.md's vectors.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prereqs.sh
# The explorer's browser test: chromium, node and playwright-core.
source scripts/prereqs-browser.sh
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Style gates first (cheap, and they reuse the build cache): formatting and clippy, warnings denied.
if cargo fmt --version >/dev/null 2>&1; then cargo fmt --all -- --check; else echo "test.sh: rustfmt not installed: format check skipped" >&2; fi
if cargo clippy --version >/dev/null 2>&1; then cargo clippy --workspace --tests --quiet -- -D warnings; else echo "test.sh: clippy not installed: lint skipped" >&2; fi
# The real-process tests and the demo test run the binaries.
cargo build --workspace --bins
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast --test-threads "${TEST_THREADS:-2}" "$@"
  # nextest does not run doctests.
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast "$@"
fi
