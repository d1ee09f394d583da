#!/usr/bin/env bash
# testsmith's mutation score against cargo-mutants' on one real crate (default: adler2 from
# ~/.cargo/registry), over the functions both tools mutate: each tool's score per function
# (caught + timeout out of caught + timeout + missed; unviable left out) and in total, and the
# time each took. Not run in CI: cargo-mutants is not a dependency of testsmith.
#
#   bench/cargo_mutants_compare.sh [CRATE_DIR]
#   CARGO_MUTANTS=path/to/cargo-mutants (default: on PATH); BIN=path/to/testsmith to skip
#   the release build. Install cargo-mutants outside the repository, e.g.
#   `nice -n 15 cargo install cargo-mutants --locked --root /somewhere/outside`.
set -euo pipefail
crate=${1:-$(ls -d "$HOME"/.cargo/registry/src/*/adler2-2.0.1 2>/dev/null | head -1)}
cargo_mutants=${CARGO_MUTANTS:-$(command -v cargo-mutants || true)}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
[ -f "$crate/Cargo.toml" ] || { echo "no Cargo.toml in '$crate'"; exit 2; }
[ -x "$cargo_mutants" ] || { echo "cargo-mutants not found: set CARGO_MUTANTS"; exit 2; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  BIN="$root/target/release/testsmith"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp -r "$crate" "$work/ts"
cp -r "$crate" "$work/cm"
start=$(date +%s.%N)
(cd "$work/ts" && "$BIN" mutants --format json . >"$work/ts.json") || true
ts_seconds=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
(cd "$work/cm" && "$cargo_mutants" mutants --no-shuffle -j 1 --output "$work/cm-out" >"$work/cm.log" 2>&1) || true
cm_seconds=$(echo "$(date +%s.%N) - $start" | bc)

python3 - "$work/ts.json" "$work/cm-out/mutants.out/outcomes.json" "$ts_seconds" "$cm_seconds" <<'PY'
import collections, json, re, sys

def impl_type(name):
    """`<impl MulAssign<u32> for U32X4>::mul_assign` -> `U32X4::mul_assign`."""
    m = re.match(r"<impl (?:.* for )?([^<>\s]+)(?:<.*>)?>::(.*)", name)
    return f"{m.group(1)}::{m.group(2)}" if m else name

def score(c):
    judged = c["caught"] + c["missed"]
    return 100.0 * c["caught"] / judged if judged else None

ts = collections.defaultdict(lambda: collections.Counter())
for m in json.load(open(sys.argv[1]))["mutants"]:
    key = (m["file"].removeprefix("./"), m["function"])
    ts[key]["caught" if m["outcome"] in ("caught", "timeout") else m["outcome"]] += 1
cm = collections.defaultdict(lambda: collections.Counter())
names = {"CaughtMutant": "caught", "Timeout": "caught", "MissedMutant": "missed",
         "Unviable": "unviable"}
for o in json.load(open(sys.argv[2]))["outcomes"]:
    s = o["scenario"]
    if not isinstance(s, dict) or "Mutant" not in s:
        continue
    m = s["Mutant"]
    key = (m["file"], impl_type((m.get("function") or {}).get("function_name", "")))
    cm[key][names.get(o["summary"], "other")] += 1

both = sorted(set(ts) & set(cm))
print(f"{'function':<40} {'testsmith':>18} {'cargo-mutants':>18}")
total = {"ts": collections.Counter(), "cm": collections.Counter()}
for key in both:
    a, b = ts[key], cm[key]
    total["ts"].update(a); total["cm"].update(b)
    fmt = lambda c: f"{c['caught']}/{c['caught'] + c['missed']} " + (f"{score(c):5.1f}%" if score(c) is not None else "    -")
    print(f"{key[0] + ' ' + key[1]:<40} {fmt(a):>18} {fmt(b):>18}")
only_ts = sorted(set(ts) - set(cm)); only_cm = sorted(set(cm) - set(ts))
print(f"functions both mutate: {len(both)}; only testsmith: {only_ts}; only cargo-mutants: {only_cm}")
a, b = score(total["ts"]), score(total["cm"])
print(f"score on those functions: testsmith {a:.1f}% ({total['ts']['caught']}/{total['ts']['caught'] + total['ts']['missed']}, "
      f"{total['ts']['unviable']} unviable), cargo-mutants {b:.1f}% ({total['cm']['caught']}/{total['cm']['caught'] + total['cm']['missed']}, "
      f"{total['cm']['unviable']} unviable); difference {abs(a - b):.1f} points")
print(f"time: testsmith {float(sys.argv[3]):.0f} s, cargo-mutants {float(sys.argv[4]):.0f} s")
PY
