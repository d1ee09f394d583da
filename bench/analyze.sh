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
# generate for the benchmark's own clean-up. The two run in turns, a pair at a time, so a
# shared machine's slow minutes fall on both alike; the ratio is the median of the pairs'.
mkdir -p "$work/used"
fresh="mv $work/tree $work/used/\$(date +%s%N) 2>/dev/null; cp -r $tree $work/tree && sync"
python3 - "$bin" "$work" "$tree" "${RUNS:-7}" > "$work/pairs.json" <<'PY'
import json, os, subprocess, sys, time
bin, work, tree, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def timed(*args):
    if os.path.exists(f"{work}/tree"):
        os.rename(f"{work}/tree", f"{work}/used/{time.time_ns()}")
    subprocess.run(["cp", "-r", tree, f"{work}/tree"], check=True)
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    subprocess.run([bin, *args, f"{work}/tree"], stdout=subprocess.DEVNULL)
    return time.perf_counter() - start
pairs = [(timed("analyze", "--lang", "go", "--format", "json"),
          timed("-q", "generate", "--lang", "go")) for _ in range(runs)]
json.dump(pairs, sys.stdout)
PY

peak() { /usr/bin/time -f %M "$@" >/dev/null 2>"$work/mem" || true; tail -n1 "$work/mem"; }
mem_testsmith=$(peak "$bin" analyze --lang go --format json "$tree")
mem_go=$(peak "$work/goparser" -quiet -j 2 "$tree")
eval "$fresh"
mem_generate=$(peak "$bin" -q generate --lang go "$work/tree")

python3 - "$work/analyze.json" "$work/pairs.json" "$mem_testsmith" "$mem_go" "$mem_generate" <<'PY'
import json, statistics, sys
a = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
pairs = json.load(open(sys.argv[2]))
t = a["testsmith"]
print(f"  testsmith analyze      {t:6.3f}s  (median of 5)")
for name in ("go-parser-j1", "go-parser-j2"):
    print(f"  {name:22} {a[name]:6.3f}s  ratio testsmith/{name} = {t / a[name]:.2f}")
med = statistics.median
ratios = sorted(g / a for a, g in pairs)
print(f"  generate / analyze     {med(g for _, g in pairs):.3f}s / {med(a for a, _ in pairs):.3f}s;"
      f" ratio {med(ratios):.2f} (median of {len(pairs)} pairs, from {ratios[0]:.2f} to {ratios[-1]:.2f})")
mib = lambda kib: int(kib) / 1024
print(f"  peak memory: testsmith analyze {mib(sys.argv[3]):.0f} MiB, generate {mib(sys.argv[5]):.0f} MiB,"
      f" go-parser -j 2 {mib(sys.argv[4]):.0f} MiB")
PY
