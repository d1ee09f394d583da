#!/usr/bin/env bash
# The Rust coverage benchmark: `testsmith coverage` over a real crate (default: strsim from
# Cargo's registry, a dependency of testsmith's own) against a plain `cargo test` and
# `cargo test --tests` of the same crate, all warm (each build folder filled by warm-up
# runs: testsmith's instrumented one under .testsmith/build/coverage, cargo's target/).
# Prints the ratios of this one run, then the cost of attributing one test (the command
# `generate --llm --coverage` runs per new test, on the warm instrumented build).
#
#   bench/coverage_rust.sh [CRATE_DIR]      BIN=path/to/testsmith to skip the release build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
crate=${1:-$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/strsim-* 2>/dev/null | sort | tail -1)}
[ -f "$crate/Cargo.toml" ] || { echo "no Cargo.toml in '$crate' (build testsmith first: strsim is one of its dependencies)"; exit 2; }
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 2; }
if [ -n "${BIN:-}" ]; then
  BIN=$(realpath "$BIN")
else
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  BIN="$root/target/release/testsmith"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$crate" "$work/crate"
cd "$work/crate"
export CARGO_TERM_COLOR=never CARGO_NET_OFFLINE=true
unset CARGO_TARGET_DIR RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

echo "== testsmith coverage vs cargo test on $crate ($(nproc) cores)"
hyperfine --style basic --warmup 2 --runs "${RUNS:-10}" --export-json "$work/coverage.json" \
  -n cargo-test "cargo test -q" \
  -n cargo-test-tests "cargo test -q --tests" \
  -n testsmith-coverage "$BIN coverage --format json ." >/dev/null
python3 - "$work/coverage.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
for name, r in results.items():
    print(f"{name:20} {r['median']*1000:8.0f} ms median  (min {r['min']*1000:.0f}, max {r['max']*1000:.0f})")
ours = results["testsmith-coverage"]["median"]
print(f"testsmith coverage / cargo test:         {ours / results['cargo-test']['median']:.2f}")
print(f"testsmith coverage / cargo test --tests: {ours / results['cargo-test-tests']['median']:.2f}")
PY

# Per-new-test attribution: one test run alone on the warm instrumented build, its profile
# written, as `generate --llm --coverage` runs every new test (the flags and target folder
# are testsmith's, so cargo rebuilds nothing).
test_path=${TEST:-$(cargo test -q --tests -- --list 2>/dev/null | grep ': test$' | head -1 | sed 's/: test$//')}
flags=$(printf -- '-C\037instrument-coverage')
echo "== per-test attribution: cargo test --tests -- --exact $test_path"
hyperfine --style basic --warmup 3 --runs "${RUNS_ONE:-20}" --export-json "$work/one.json" \
  -n one-test "CARGO_ENCODED_RUSTFLAGS='$flags' CARGO_TARGET_DIR=.testsmith/build/coverage LLVM_PROFILE_FILE=$work/one/%p-%m.profraw cargo test -q --tests -- --exact $test_path" >/dev/null
python3 - "$work/one.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"one test with its profiles: {r['median']*1000:.0f} ms median (min {r['min']*1000:.0f}, max {r['max']*1000:.0f})")
PY
