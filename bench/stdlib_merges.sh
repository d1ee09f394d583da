#!/usr/bin/env bash
# Exact merges on Go's standard library: in a copy of GOROOT, every package whose tests
# compiled (and vetted) before `testsmith generate` still compiles after, and the outcome of
# every pre-existing test that ran is unchanged.
#
# Usage: bench/stdlib_merges.sh [PACKAGE...]   (default: every package under $GOROOT/src)
# Env: TESTSMITH (the binary, default target/release/testsmith), OUT (work folder).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
testsmith=${TESTSMITH:-$repo/target/release/testsmith}
out=${OUT:-${TMPDIR:-/tmp}/testsmith-stdlib-merges}
real_goroot=$(go env GOROOT)
rm -rf "$out" && mkdir -p "$out"
# A GOROOT whose src is a real, writable copy; the toolchain and compiled packages are shared.
cp -a "$real_goroot" "$out/goroot"
rm -f "$out/goroot/src"
cp -rL "$real_goroot/src" "$out/goroot/src"
chmod -R u+w "$out/goroot/src"
export GOROOT=$out/goroot GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOCACHE=$out/cache

cd "$GOROOT/src"
if [ "$#" -eq 0 ]; then
    mapfile -t packages < <(go list std 2>/dev/null | grep -v -e '^vendor/' -e '^cmd/')
else
    packages=("$@")
fi

compiles() { go test -count=1 -run '^$' "$1" >/dev/null 2>&1 && go vet "$1" >/dev/null 2>&1; }
outcomes() {
    { go test -json -count=1 "$1" 2>/dev/null || true; } |
        python3 -c '
import json, re, sys
for line in sys.stdin:
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("Test") and e.get("Action") in ("pass", "fail", "skip"):
        # Subtests named after pointers (errors: "TestAs/0:As(..., 0xc000094028)") differ
        # between any two runs.
        print(re.sub(r"0x[0-9a-f]+", "0x_", e["Test"]), e["Action"])' | sort -u || true
}

before_ok=0 after_ok=0 broken=() changed=()
for pkg in "${packages[@]}"; do
    if ! compiles "$pkg"; then
        continue
    fi
    before_ok=$((before_ok + 1))
    outcomes "$pkg" >"$out/before.txt"
    "$testsmith" generate "$GOROOT/src/$pkg" --lang go >/dev/null 2>>"$out/generate.stderr" || true
    if compiles "$pkg"; then
        after_ok=$((after_ok + 1))
    else
        broken+=("$pkg")
    fi
    outcomes "$pkg" >"$out/after.txt"
    # Every test that ran before ends the same way after (new tests are extra lines).
    if [ -n "$(comm -23 "$out/before.txt" "$out/after.txt")" ]; then
        changed+=("$pkg")
        comm -23 "$out/before.txt" "$out/after.txt" | sed "s|^|  $pkg: before: |" >>"$out/changed.txt"
    fi
done
echo "packages whose tests compiled before: $before_ok"
echo "... and still compile and vet after:  $after_ok"
echo "broken by generate:                   ${#broken[@]} ${broken[*]}"
echo "pre-existing test outcomes changed:   ${#changed[@]} ${changed[*]}"
[ "${#broken[@]}" -eq 0 ] && [ "${#changed[@]}" -eq 0 ]
