#!/usr/bin/env bash
# What the suite guard costs: `testsmith generate --verify` on a fresh copy of a real crate
# (default: strsim from Cargo's registry, a dependency of testsmith's own), offline (ignored
# scaffolds: the crate's own suite is what runs), with two testsmith binaries: BEFORE (the
# guard runs the crate's whole suite after verification) and BIN (verification's own last run
# is the whole suite and the guard takes its verdicts). Both share one warm target folder;
# each run starts from a fresh copy, so each rebuilds the crate's test targets as a user's
# first run does. Prints the medians and their ratio, measured in this one run.
#
#   BEFORE=path/to/old/testsmith [BIN=path/to/testsmith] bench/suite_guard.sh [CRATE_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
crate=${1:-$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/strsim-* 2>/dev/null | sort | tail -1)}
[ -f "$crate/Cargo.toml" ] || { echo "no Cargo.toml in '$crate'"; exit 2; }
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 2; }
[ -x "${BEFORE:-}" ] || { echo "set BEFORE to the testsmith binary to compare with"; exit 2; }
BEFORE=$(realpath "$BEFORE")
if [ -n "${BIN:-}" ]; then
  BIN=$(realpath "$BIN")
else
  cargo build --quiet --manifest-path "$root/Cargo.toml"
  BIN="$root/target/debug/testsmith"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TERM_COLOR=never CARGO_NET_OFFLINE=true CARGO_TARGET_DIR="$work/target"
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
fresh="rm -rf $work/c && cp -r $crate $work/c && rm -f $work/c/Cargo.lock.orig"
# One warm-up builds the dependencies and the library once for both.
eval "$fresh" && (cd "$work/c" && cargo test -q --tests >/dev/null 2>&1 || true)

echo "== generate --verify on $crate ($(nproc) cores), a fresh copy per run"
hyperfine --style basic --warmup 1 --runs "${RUNS:-10}" --export-json "$work/guard.json" \
  --prepare "$fresh" \
  -n guard-runs-suite-again "cd $work/c && $BEFORE generate --verify --format json . >/dev/null" \
  -n guard-takes-verify-run "cd $work/c && $BIN generate --verify --format json . >/dev/null" \
  -n cargo-test-tests "cd $work/c && cargo test -q --tests >/dev/null 2>&1" >/dev/null
python3 - "$work/guard.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
for name, r in results.items():
    print(f"{name:24} {r['median']*1000:8.0f} ms median  (min {r['min']*1000:.0f}, max {r['max']*1000:.0f})")
before = results["guard-runs-suite-again"]["median"]
after = results["guard-takes-verify-run"]["median"]
print(f"after / before: {after / before:.2f} ({(before - after)*1000:.0f} ms saved per run)")
PY

# The run the guard no longer makes: the crate's whole suite on its warm build, as the guard
# ran it after verification (the copy the last run left, its tests built).
echo "== the suite run saved: cargo test --tests --no-fail-fast, warm"
(cd "$work/c" && hyperfine --style basic --warmup 2 --runs "${RUNS_WARM:-20}" \
  --export-json "$work/warm.json" -n warm-suite "cargo test -q --tests --no-fail-fast" >/dev/null)
python3 - "$work/warm.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"warm suite run: {r['median']*1000:.0f} ms median (min {r['min']*1000:.0f}, max {r['max']*1000:.0f})")
PY
