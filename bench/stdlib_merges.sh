#!/usr/bin/env bash
# Exact merges on Go's standard library: in a copy of GOROOT, every package whose tests
# compiled (and vetted) before `testsmith generate` still compiles and vets after, and the
# outcome of every pre-existing test that ran is unchanged.
#
# Usage: bench/stdlib_merges.sh [PACKAGE...]   (default: every package of `go list std`
#                                               outside vendor/)
# Env: TESTSMITH (the binary, default target/release/testsmith), OUT (work folder),
#      SHORT (default 1: `go test -short`, as Go's own all.bash runs the standard library;
#      SHORT=0 runs the long tests too).
#
# Only the packages `generate` wrote to are tested again after it (see below).
#
# Resumable: each phase (tests before, generate, tests after) leaves its result in $OUT and is
# skipped when run again with the same OUT and packages; `rm -rf $OUT` starts afresh. The
# phases are whole-list `go test -json` runs (the go tool schedules packages on every core)
# plus one `go vet` per package.
#
# GOROOT=<copy>: `src` is a real, writable copy (119 MB); every other entry of GOROOT (the
# toolchain, pkg/) is a link to the real one.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
testsmith=$(realpath "${TESTSMITH:-$repo/target/release/testsmith}")
out=$(realpath -m "${OUT:-${TMPDIR:-/tmp}/testsmith-stdlib-merges}")
short=${SHORT:-1}
real_goroot=$(cd "$(go env GOROOT)" && pwd -P)
mkdir -p "$out"
if [ ! -e "$out/goroot/.copied" ]; then
    rm -rf "$out/goroot" && mkdir -p "$out/goroot"
    for entry in "$real_goroot"/*; do
        [ "$(basename "$entry")" = src ] || ln -s "$(readlink -f "$entry")" "$out/goroot/"
    done
    cp -rL "$real_goroot/src" "$out/goroot/src"
    chmod -R u+w "$out/goroot/src"
    touch "$out/goroot/.copied"
fi
export GOROOT=$out/goroot GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOCACHE=$out/cache

cd "$GOROOT/src"
if [ "$#" -eq 0 ]; then
    mapfile -t packages < <(go list std | grep -v '^vendor/')
else
    packages=("$@")
fi
printf '%s\n' "${packages[@]}" >"$out/packages.next"
if [ -e "$out/packages.txt" ] && ! cmp -s "$out/packages.txt" "$out/packages.next"; then
    echo "$out holds a run over other packages; rm -rf $out first" >&2
    exit 2
fi
mv "$out/packages.next" "$out/packages.txt"
test_flags=(-count=1)
[ "$short" = 1 ] && test_flags+=(-short)

# phase NAME PACKAGE...: `go test -json` over the packages (NAME.json; non-JSON lines such
# as "FAIL pkg [build failed]" are kept), then `go vet` per package (NAME.vet: "pkg ok|fail"),
# appending so an interrupted phase resumes at the next package.
phase() {
    local name=$1
    shift
    if [ ! -e "$out/$name.json" ]; then
        { [ "$#" -eq 0 ] || go test -json "${test_flags[@]}" "$@" 2>"$out/$name.stderr" || true; } \
            >"$out/$name.json.partial"
        mv "$out/$name.json.partial" "$out/$name.json"
    fi
    touch "$out/$name.vet"
    for pkg in "$@"; do
        grep -q "^$pkg " "$out/$name.vet" && continue
        if go vet "$pkg" >/dev/null 2>>"$out/$name.vet.stderr"; then
            echo "$pkg ok" >>"$out/$name.vet"
        else
            echo "$pkg fail" >>"$out/$name.vet"
        fi
    done
}

start=$(date +%s)
phase before "${packages[@]}"
echo "tests before: $(($(date +%s) - start)) s" >&2
if [ ! -e "$out/generate.json" ]; then
    # One run over the packages' own folders, each file once: what a user who asks for the
    # standard library's missing tests runs (`generate` recurses, so nested packages are
    # named through their parents only when the parent is not listed).
    dirs=()
    for pkg in "${packages[@]}"; do dirs+=("$GOROOT/src/$pkg"); done
    mapfile -t roots < <(printf '%s\n' "${dirs[@]}" | sort | awk '
        { for (i = 1; i <= n; i++) if (index($0 "/", kept[i] "/") == 1) next; kept[++n] = $0; print }')
    generate_start=$(date +%s)
    code=0
    "$testsmith" generate --lang go --format json "${roots[@]}" >"$out/generate.json.partial" \
        2>"$out/generate.stderr" || code=$?
    echo "$code $(($(date +%s) - generate_start))" >"$out/generate.code"
    mv "$out/generate.json.partial" "$out/generate.json"
fi
read -r generate_code generate_seconds <"$out/generate.code"
echo "generate: exit $generate_code, $generate_seconds s" >&2
# `generate` writes only `_test.go` files, and a package's test files are built into its own
# test binary alone: a package none of whose test files changed builds and ends exactly as
# before, so only the packages it wrote to are tested and vetted again.
if [ ! -e "$out/written.txt" ]; then
    for pkg in "${packages[@]}"; do
        # A test file added, edited or gone.
        for file in "$GOROOT/src/$pkg"/*_test.go "$real_goroot/src/$pkg"/*_test.go; do
            [ -e "$file" ] || continue
            name=$(basename "$file")
            if ! cmp -s "$GOROOT/src/$pkg/$name" "$real_goroot/src/$pkg/$name"; then
                echo "$pkg"
                break
            fi
        done
    done >"$out/written.txt.partial"
    mv "$out/written.txt.partial" "$out/written.txt"
fi
mapfile -t written < "$out/written.txt"
echo "packages written to: ${#written[@]}" >&2
start=$(date +%s)
phase after "${written[@]}"
echo "tests after: $(($(date +%s) - start)) s" >&2

# A test whose outcome differs is run again (three times, alone): a flaky test blames nobody.
python3 - "$out" "${test_flags[@]}" <<'EOF'
import json, re, subprocess, sys

out, flags = sys.argv[1], sys.argv[2:]
packages = open(f"{out}/packages.txt").read().split()

def outcomes(name):
    """Per package: None if its tests did not build, else {test: action}."""
    tests, built = {}, {}
    for line in open(f"{out}/{name}.json", errors="replace"):
        m = re.match(r"FAIL\t(\S+) \[(build|setup) failed\]", line)
        if m:
            built[m.group(1)] = False
            continue
        try:
            e = json.loads(line)
        except ValueError:
            continue
        pkg = e.get("Package")
        if e.get("Action") in ("pass", "fail", "skip"):
            if e.get("Test"):
                # Subtests named after pointers (errors' "TestAs/0:As(..., 0xc000094028)")
                # differ between any two runs.
                tests.setdefault(pkg, {})[re.sub(r"0x[0-9a-f]+", "0x_", e["Test"])] = e["Action"]
            else:
                built.setdefault(pkg, True)
    vet = dict(line.split() for line in open(f"{out}/{name}.vet"))
    return {p: (tests.get(p, {}) if built.get(p) and vet.get(p) == "ok" else None)
            for p in packages}

written = set(open(f"{out}/written.txt").read().split())
before, after = outcomes("before"), outcomes("after")
# A package generate did not write to builds and runs exactly as before (see above).
after = {p: (after[p] if p in written else before[p]) for p in packages}
compiled = [p for p in packages if before[p] is not None]
broken = [p for p in compiled if after[p] is None]
changed = {}
for p in compiled:
    if after[p] is None:
        continue
    differ = {t: a for t, a in before[p].items() if after[p].get(t) != a}
    for _ in range(3):
        if not differ:
            break
        top = sorted({t.split("/")[0] for t in differ})
        run = subprocess.run(["go", "test", "-json", *flags, "-run", "^(" + "|".join(top) + ")$", p],
                             capture_output=True, text=True)
        again = {}
        for line in run.stdout.splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("Test") and e.get("Action") in ("pass", "fail", "skip"):
                again[re.sub(r"0x[0-9a-f]+", "0x_", e["Test"])] = e["Action"]
        differ = {t: a for t, a in differ.items() if again.get(t) != a}
    if differ:
        changed[p] = differ
with open(f"{out}/changed.txt", "w") as f:
    for p, d in changed.items():
        for t, a in sorted(d.items()):
            f.write(f"{p} {t}: before {a}, after {after[p].get(t, 'missing')}\n")
tests = sum(len(before[p]) for p in compiled)
failing = sum(1 for p in compiled for a in before[p].values() if a == "fail")
print(f"packages:                                  {len(packages)}")
print(f"packages generate wrote tests into:        {len(written)}")
print(f"tests compiled and vetted before:          {len(compiled)}")
print(f"... and still compile and vet after:       {len(compiled) - len(broken)}")
print(f"broken by generate:                        {len(broken)} {' '.join(broken)}")
print(f"pre-existing tests (failing before):       {tests} ({failing})")
print(f"packages with a test outcome changed:      {len(changed)} {' '.join(changed)}")
open(f"{out}/verdict", "w").write("ok\n" if not broken and not changed else "bad\n")
EOF
summary=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(", ".join(f"{k} {v}" for k, v in s.items() if not isinstance(v, (dict, list))))' "$out/generate.json" 2>/dev/null || echo "no JSON report")
echo "generate (exit $generate_code, $generate_seconds s): $summary"
# Exit 1 is a file testsmith reported it could not write (listed in the report); more is a
# crash or a usage error, and the run proved nothing.
[ "$(cat "$out/verdict")" = ok ] && [ "$generate_code" -le 1 ]
