#!/usr/bin/env bash
# Cross-checks testsmith's Rust functions and methods against syn's on real code.
#
# Usage: bench/crosscheck/rust/run.sh [ROOT...]
# Without roots it checks the crates in the local cargo registry (~/.cargo/registry/src/*/).
# Builds testsmith (release) and the syn lister (its own target folder), runs both over the
# same roots, and compares with compare_rust.py; exits 1 below 99.5% recall or precision.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out=${CROSSCHECK_OUT:-${TMPDIR:-/tmp}/testsmith-crosscheck-rust}
mkdir -p "$out"

if [ "$#" -eq 0 ]; then
    set -- "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/
fi

cargo build --release --quiet --manifest-path "$repo/Cargo.toml" --bin testsmith
CARGO_TARGET_DIR=${CROSSCHECK_TARGET_DIR:-$repo/target/crosscheck} \
    cargo build --release --quiet --manifest-path "$here/Cargo.toml"
syn_lister=${CROSSCHECK_TARGET_DIR:-$repo/target/crosscheck}/release/crosscheck-rust

# Exit 1 means some files failed or were flagged (syntax errors, unreadable): expected on a
# large tree; anything above is a real failure.
status=0
"$repo/target/release/testsmith" analyze "$@" --format json --lang rust \
    >"$out/testsmith.json" 2>"$out/testsmith.stderr" || status=$?
if [ "$status" -gt 1 ]; then
    echo "testsmith failed with exit code $status; see $out/testsmith.stderr" >&2
    exit "$status"
fi
"$syn_lister" "$@" >"$out/syn.jsonl" 2>"$out/syn.stderr"
cat "$out/syn.stderr"
python3 "$here/../compare_rust.py" "$out/testsmith.json" "$out/syn.jsonl"
