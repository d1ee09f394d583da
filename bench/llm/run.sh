#!/usr/bin/env bash
# The --llm benchmark: a fake API with a fixed latency L per request, F files x M members,
# concurrency C. Prints the wall times of a cold batch run, a cold fan-out run and a warm
# rerun (all cache hits), against the ideal times ceil(F/C)*L and ceil(F*M/C)*L; and the cost
# of the durable queue (a batch run with TESTSMITH_NO_QUEUE=1 for comparison).
#
#   bench/llm/run.sh [F] [M] [C] [L]      (defaults: 20 10 5 0.25)
set -euo pipefail
F=${1:-20} M=${2:-10} C=${3:-5} L=${4:-0.25}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/testsmith"
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 2; }

work=$(mktemp -d)
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
python3 "$here/fake_api.py" "$port" "$L" & server=$!

# A Go package of F files with M exported functions each.
mkdir -p "$work/template/pkg"
for f in $(seq 1 "$F"); do
  {
    echo "package pkg"
    for m in $(seq 1 "$M"); do printf '\nfunc F%d_%d(x int) int { return x + %d }\n' "$f" "$m" "$m"; done
  } > "$work/template/pkg/f$f.go"
done
sleep 0.3

run="$bin generate --llm --base-url http://127.0.0.1:$port/v1 --model bench --concurrency $C -q"
fresh="rm -rf $work/p && cp -r $work/template $work/p"
# Warm: a fresh copy of the project that keeps the state (cache) of a finished run.
( eval "$fresh" && cd "$work/p" && $run >/dev/null ) && mv "$work/p/.testsmith" "$work/state"
warm="rm -rf $work/p && cp -r $work/template $work/p && cp -r $work/state $work/p/.testsmith"

cd "$work"
# The queue's cost is a difference of a few milliseconds between two ~1 s runs: ten runs
# each keep the medians steady. Fan-out is ten times longer and needs fewer.
hyperfine --style basic --runs 10 --export-json "$work/batch.json" \
  -n batch --prepare "$fresh" "cd p && $run --batch" \
  -n batch-no-queue --prepare "$fresh" "cd p && TESTSMITH_NO_QUEUE=1 $run --batch" \
  -n warm --prepare "$warm" "cd p && $run --batch" \
  >/dev/null
hyperfine --style basic --runs 3 --export-json "$work/fan-out.json" \
  -n fan-out --prepare "$fresh" "cd p && $run --fan-out" \
  >/dev/null

python3 - "$work/batch.json" "$work/fan-out.json" "$F" "$M" "$C" "$L" <<'PY'
import json, math, sys
results = {r["command"]: r for f in sys.argv[1:3] for r in json.load(open(f))["results"]}
F, M, C, L = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
ideal = {"batch": math.ceil(F / C) * L, "fan-out": math.ceil(F * M / C) * L}
print(f"F={F} files x M={M} members, C={C}, L={L}s (median of 10 runs; fan-out of 3)")
for name in ("batch", "fan-out"):
    t = results[name]["median"]
    print(f"  {name:8} {t:7.3f}s   ideal {ideal[name]:6.3f}s   ratio {t / ideal[name]:.3f}")
warm, cold = results["warm"]["median"], results["batch"]["median"]
print(f"  warm     {warm:7.3f}s   = {100 * warm / cold:.1f}% of the cold batch run"
      f" ({100 * warm / results['fan-out']['median']:.1f}% of the cold fan-out run)")
off = results["batch-no-queue"]["median"]
print(f"  queue+breaker cost: batch {cold:.3f}s vs {off:.3f}s without the queue"
      f" = {100 * (cold - off) / off:+.1f}%")
PY
