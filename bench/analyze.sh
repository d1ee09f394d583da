#!/usr/bin/env bash
# The analyze benchmark: `testsmith analyze` over a large real Go tree (default: the Go 1.19
# standard library from Debian's golang-1.19-src) against Go's own go/parser doing the same
# walk (bench/crosscheck/go, with 1 and 2 goroutines), and `generate` against `analyze` over
# the same tree. Prints the ratios measured in this one run, and peak memory.
#
#   bench/analyze.sh [TREE]
set -euo pipefail
tree=${1:-/usr/share/go-1.19/src}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
[ -d "$tree" ] || { echo "no $tree (apt-get install golang-1.19-src)"; exit 2; }
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 2; }

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/testsmith"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$here/crosscheck/go" && go build -o "$work/goparser" .)

echo "== analyze vs go/parser on $tree ($(nproc) cores)"
hyperfine --style basic --warmup 1 --runs 5 --export-json "$work/analyze.json" \
  -n testsmith "$bin analyze --lang go --format json $tree" \
  -n go-parser-j1 "$work/goparser -quiet -j 1 $tree" \
  -n go-parser-j2 "$work/goparser -quiet -j 2 $tree" >/dev/null

echo "== generate vs analyze on fresh copies of $tree"
# Both commands run on a tree copied just before (and synced), so both meet the same page
# cache. Used copies are moved aside, not deleted: ext4 without a journal (this machine's)
# scans past inodes freed in the last minutes on every new file, which would bill
# generate for the benchmark's own clean-up.
mkdir -p "$work/used"
fresh="mv $work/tree $work/used/\$(date +%s%N) 2>/dev/null; cp -r $tree $work/tree && sync"
hyperfine --style basic --runs ${RUNS:-5} --export-json "$work/generate.json" --prepare "$fresh" \
  -n analyze "$bin analyze --lang go --format json $work/tree" \
  -n generate "$bin -q generate --lang go $work/tree || true" >/dev/null

peak() { /usr/bin/time -f %M "$@" >/dev/null 2>"$work/mem" || true; tail -n1 "$work/mem"; }
mem_testsmith=$(peak "$bin" analyze --lang go --format json "$tree")
mem_go=$(peak "$work/goparser" -quiet -j 2 "$tree")

python3 - "$work/analyze.json" "$work/generate.json" "$mem_testsmith" "$mem_go" <<'PY'
import json, sys
a = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
g = {r["command"]: r["median"] for r in json.load(open(sys.argv[2]))["results"]}
t = a["testsmith"]
print(f"  testsmith analyze      {t:6.3f}s  (median of 5)")
for name in ("go-parser-j1", "go-parser-j2"):
    print(f"  {name:22} {a[name]:6.3f}s  ratio testsmith/{name} = {t / a[name]:.2f}")
print(f"  generate / analyze     {g['generate']:.3f}s / {g['analyze']:.3f}s = {g['generate'] / g['analyze']:.2f}")
print(f"  peak memory: testsmith {int(sys.argv[3]) / 1024:.0f} MiB, go-parser -j 2 {int(sys.argv[4]) / 1024:.0f} MiB")
PY
