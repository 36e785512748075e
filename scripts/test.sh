#!/usr/bin/env bash
# The whole check: formatting, lints, doc tests, a simulation smoke run, and every
# test, the Postgres ones against a real server. `.ci/run` calls this script and
# nothing weaker.
#
#   scripts/test.sh                       # everything
#   DATABASE_URL=postgres://... scripts/test.sh   # against that server
#   PROPTEST_CASES=2000 scripts/test.sh   # more property-test cases (default 256)
#
# Without DATABASE_URL, scripts/postgres.sh starts a local PostgreSQL (installing it
# if missing). The fuzz step installs cargo-fuzz if missing (scripts/fuzz.sh). Postgres tests never skip here: WL_REQUIRE_POSTGRES=1 makes an
# unreachable server a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "PostgreSQL"
DATABASE_URL="$(scripts/postgres.sh)"
export DATABASE_URL WL_REQUIRE_POSTGRES=1
echo "using the server at ${DATABASE_URL#*@}"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets --all-features -D warnings"
cargo clippy --all-targets --all-features -- -D warnings

step "doc tests (README and public items)"
cargo test --doc --all-features

step "cargo doc, warnings (broken intra-doc links, missing docs) denied"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features --quiet

step "cargo publish --dry-run (packages the crate and builds it with default features)"
# --allow-dirty: the check is that the package builds, also with uncommitted work.
cargo publish --dry-run --allow-dirty --quiet

step "simulation smoke run (exits non-zero on any broken invariant)"
cargo run --quiet --example simulate -- --workspaces 200 --days 3 --seed 7 | tail -n 4

step "Postgres example: rows started and stopped at their deadlines"
cargo run --quiet --example postgres -- --rows 5 | tail -n 3

step "unit, contract, engine, property and Postgres tests"
if cargo nextest --version >/dev/null 2>&1; then
    postgres_tests="$(cargo nextest list --all-features -E 'test(postgres)' --message-format oneline 2>/dev/null | wc -l)"
    echo "Postgres tests to run (against ${DATABASE_URL#*@}): ${postgres_tests}"
    cargo nextest run --all-features --profile ci
else
    cargo test --all-features --lib --tests
fi

step "fuzz targets: built, and each run for 30 s from its seeds"
scripts/fuzz.sh 30
