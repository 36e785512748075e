#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and runs each for SECONDS seconds (default 30)
# from its committed seeds (fuzz/corpus/TARGET/seed-*), growing a scratch corpus in a
# temporary folder so nothing generated lands in the work tree. Prints each target's
# final libFuzzer stats line; exits non-zero if any target crashes, with the crash's
# output and the reproducer's path (under fuzz/artifacts/TARGET/).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # all targets when none is named
#
# Works on stable Rust: cargo-fuzz needs nightly flags (-Zsanitizer), which
# RUSTC_BOOTSTRAP=1 unlocks. Installs cargo-fuzz if `cargo fuzz` is missing.
# FUZZ_BUILD_LOCK=FILE runs the cargo builds under `flock FILE` (for machines where
# several people build at once); the fuzzing itself never holds it.
set -euo pipefail

seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
fi
shift $(( $# > 0 ? 1 : 0 ))

cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
export RUSTC_BOOTSTRAP=1

locked() {
    if [[ -n "${FUZZ_BUILD_LOCK:-}" ]]; then
        flock "$FUZZ_BUILD_LOCK" "$@"
    else
        "$@"
    fi
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    locked cargo install cargo-fuzz --locked
fi

if (( $# > 0 )); then
    targets=("$@")
    for target in "${targets[@]}"; do
        echo "== building $target"
        locked cargo fuzz build -O "$target"
    done
else
    mapfile -t targets < <(cargo fuzz list)
    echo "== building ${targets[*]}"
    locked cargo fuzz build -O
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

failed=()
for target in "${targets[@]}"; do
    mkdir -p "$scratch/$target" "corpus/$target"
    log="$scratch/$target.log"
    echo "== $target: ${seconds}s"
    # New inputs go to the first corpus folder (scratch); the seeds are only read.
    if cargo fuzz run -O "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=60 >"$log" 2>&1; then
        grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true
        grep -E '^Done [0-9]+ runs' "$log" | tail -n 1 || true
    elif grep -q 'failed to build fuzz script' "$log"; then
        # `cargo fuzz run` rebuilds first: the sources changed since the build above.
        failed+=("$target")
        echo "!! $target did not build:"
        grep -E '^(error|warning)' -A 6 "$log" | head -n 60
    else
        failed+=("$target")
        echo "!! $target crashed:"
        grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED|RELOAD)' "$log" | tail -n 80
        grep -E 'Test unit written to' "$log" || true
    fi
done

if (( ${#failed[@]} > 0 )); then
    echo "== FAILED: ${failed[*]}"
    exit 1
fi
echo "== all ${#targets[@]} targets ran ${seconds}s without a crash"
