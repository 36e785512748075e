#!/usr/bin/env bash
# The whole check: formatting, lints, doc tests, a simulation smoke run, and every
# test. `.ci/run` calls this script and nothing weaker.
#
#   scripts/test.sh            # everything
#   PROPTEST_CASES=2000 scripts/test.sh   # more property-test cases (default 256)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets --all-features -D warnings"
cargo clippy --all-targets --all-features -- -D warnings

step "doc tests (README and public items)"
cargo test --doc --all-features

step "simulation smoke run (exits non-zero on any broken invariant)"
cargo run --quiet --example simulate -- --workspaces 200 --days 3 --seed 7 | tail -n 4

step "unit, contract, engine and property tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --all-features --profile ci
else
    cargo test --all-features --lib --tests
fi
