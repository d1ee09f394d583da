#!/usr/bin/env bash
# The mutation benchmark: `testsmith mutants` on a real Go module (default: Debian's
# hashicorp/golang-lru) restricted (per-test coverage: only the tests that execute a
# mutant's line run, unexecuted lines are missed without running) and unrestricted
# (`--whole-suite`), each from a fresh copy with the Go build cache warm; and on a real crate
# (default: strsim from ~/.cargo/registry, Rust has no per-test coverage yet, so whole suite).
# One run each: a run takes minutes. Prints mutants, outcomes, total time and mutants/s.
#
#   bench/mutants.sh [GO_MODULE_DIR] [CRATE_DIR|none]
#   BIN=path/to/testsmith to skip the release build; BUDGET=N to cap mutants per function
#   (applied to the crate only unless BUDGET_GO is set too)
set -euo pipefail
module=${1:-/usr/share/gocode/src/github.com/hashicorp/golang-lru}
crate=${2:-$(ls -d "$HOME"/.cargo/registry/src/*/strsim-0.11.1 2>/dev/null | head -1)}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
[ -f "$module/go.mod" ] || { echo "no go.mod in $module (apt-get install golang-github-hashicorp-golang-lru-dev)"; exit 2; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  BIN="$root/target/release/testsmith"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOPROXY=off

# run NAME SOURCE_DIR ARGS...: a fresh copy, one timed run, its summary.
run() {
  local name=$1 source=$2; shift 2
  rm -rf "$work/$name"
  cp -r "$source" "$work/$name"
  (cd "$work/$name" && "$BIN" mutants --format json "$@" . >"$work/$name.json") || true
  python3 - "$name" "$work/$name.json" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
s = json.load(open(path))["summary"]
ran = s["mutants"] - s["not_run"]
print(f"{name:<22} {s['mutants']:>4} mutants  {s['caught']:>4} caught  {s['missed']:>4} missed "
      f"({s['unexecuted']} unexecuted)  {s['timeout']} timeout  {s['unviable']} unviable  "
      f"{s['not_run']} not run  score {s['score'] or 0:.1f}%  {s['seconds']:.1f} s  "
      f"{ran / s['seconds']:.2f} mutants/s")
PY
}

echo "== Go: $module ($(nproc) cores)"
(cd "$module" && go test -count=1 ./... >/dev/null)  # warm the build cache
go_budget=()
[ -n "${BUDGET_GO:-}" ] && go_budget=(--mutants-budget "$BUDGET_GO")
run go-restricted "$module" "${go_budget[@]}"
run go-whole-suite "$module" --whole-suite "${go_budget[@]}"
python3 - "$work/go-restricted.json" "$work/go-whole-suite.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
same = [(m["file"], m["line"], m["change"], m["outcome"]) for m in a["mutants"]] == \
       [(m["file"], m["line"], m["change"], m["outcome"]) for m in b["mutants"]]
print(f"restricted / whole suite time: {a['summary']['seconds'] / b['summary']['seconds']:.2f}; "
      f"same outcome for every mutant: {same}")
PY

if [ -n "$crate" ] && [ "$crate" != none ]; then
  echo "== Rust: $crate"
  crate_budget=()
  [ -n "${BUDGET:-}" ] && crate_budget=(--mutants-budget "$BUDGET")
  run rust-whole-suite "$crate" "${crate_budget[@]}"
fi
