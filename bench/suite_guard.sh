#!/usr/bin/env bash
# What the suite guard costs: `testsmith generate --verify` on a fresh copy of real code
# (a crate — default strsim from Cargo's registry, a dependency of testsmith's own — or a
# Go module, e.g. /usr/share/gocode/src/github.com/google/uuid), offline (scaffolds: the
# project's own suite is what runs), with two testsmith binaries: BEFORE (the guard ran the
# whole suite after verification's run of the new tests) and BIN (verification's own last
# run is the whole suite and the guard takes its verdicts).
#
# 1. the test commands each binary runs (from its log): the run saved, counted;
# 2. the saved run alone, on the warm build: what the guard no longer costs per package;
# 3. end to end, both binaries, a fresh copy per run (each run rebuilds the tests, as a
#    user's first run does). On a loaded machine this one is mostly noise: read 1 and 2.
#
#   BEFORE=path/to/old/testsmith [BIN=path/to/testsmith] bench/suite_guard.sh [DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
project=${1:-$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/strsim-* 2>/dev/null | sort | tail -1)}
[ -f "$project/Cargo.toml" ] || [ -f "$project/go.mod" ] || { echo "no Cargo.toml or go.mod in '$project'"; exit 2; }
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
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
fresh="rm -rf $work/c && cp -r $project $work/c && chmod -R u+w $work/c"

echo "== the test commands each binary runs ($project, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
for which in BEFORE BIN; do
  eval "$fresh"
  (cd "$work/c" && TESTSMITH_LOG=info "${!which}" generate --verify . 2>&1 >/dev/null) \
    | sed -n 's/.*verify: \(\(cargo\|go\) test .*\) (in .*/\1/p' > "$work/$which.commands"
  echo "$which: $(grep -c -v -- "--no-run\|-run '^\\$'" "$work/$which.commands") test runs"
  cut -c1-110 "$work/$which.commands" | sed 's/^/  /'
done

# The run BEFORE made and BIN does not: verification's run of the new tests alone, on the
# warm build BEFORE's run left (unconfined here, so a lower bound), beside the whole suite.
saved=$(grep -- "--exact\|-run '^(" "$work/BEFORE.commands" | head -1 || true)
whole=$(grep -v -- "--exact\|-run '\|--no-run" "$work/BEFORE.commands" | head -1 || true)
if [ -n "$saved" ] && [ -n "$whole" ]; then
  echo "== the saved run alone, warm"
  eval "$fresh"
  (cd "$work/c" && "$BEFORE" generate --verify . >/dev/null 2>&1 && \
    hyperfine --style basic --warmup 2 --runs "${RUNS_WARM:-20}" --export-json "$work/saved.json" \
      -n saved-run "$saved >/dev/null 2>&1" \
      -n whole-suite "$whole >/dev/null 2>&1" >/dev/null)
  python3 - "$work/saved.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"{r['command']:12} {r['median']*1000:6.0f} ms median (min {r['min']*1000:.0f}, max {r['max']*1000:.0f})")
PY
fi

echo "== end to end: generate --verify, a fresh copy per run"
hyperfine --style basic --warmup 1 --runs "${RUNS:-10}" --export-json "$work/guard.json" \
  --prepare "$fresh" \
  -n before "cd $work/c && $BEFORE generate --verify --format json . >/dev/null" \
  -n after "cd $work/c && $BIN generate --verify --format json . >/dev/null" >/dev/null
python3 - "$work/guard.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
for name, r in results.items():
    print(f"{name:8} {r['median']*1000:8.0f} ms median  (min {r['min']*1000:.0f}, max {r['max']*1000:.0f})")
print(f"after / before: {results['after']['median'] / results['before']['median']:.2f}")
PY
