#!/usr/bin/env bash
# Exact merges on real third-party code: three Go packages (Debian's /usr/share/gocode/src)
# and three crates (~/.cargo/registry/src), each copied into a work folder. Before and after
# `testsmith generate --verify`, every test's outcome is recorded (`go test -json`, libtest's
# `cargo test` lines); after, `go vet` / `cargo test` must be green and every pre-existing
# test must end as before.
#
# Usage: bench/real_merges.sh
# Env: TESTSMITH (the binary, default target/debug/testsmith), OUT (work folder).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
testsmith=$(realpath "${TESTSMITH:-$repo/target/debug/testsmith}")
out=$(realpath -m "${OUT:-${TMPDIR:-/tmp}/testsmith-real-merges}")
registry=$(ls -d "$HOME"/.cargo/registry/src/*/ | head -1)
rm -rf "$out" && mkdir -p "$out"
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOCACHE=$out/gocache GOPATH=$out/gopath
export CARGO_TARGET_DIR=$out/target CARGO_NET_OFFLINE=true

# Modules, and a GOPATH project (no go.mod, GO111MODULE=off: its tests assert its GOPATH path).
go_packages=(github.com/google/uuid github.com/hashicorp/golang-lru)
gopath_packages=(github.com/pkg/errors)
crates=(strsim-0.11.1 scopeguard-1.2.0 fnv-1.0.7)

go_outcomes() {
    { go test -json -count=1 ./... 2>/dev/null || true; } | python3 -c '
import json, re, sys
for line in sys.stdin:
    try: e = json.loads(line)
    except ValueError: continue
    if e.get("Test") and e.get("Action") in ("pass", "fail", "skip"):
        print(e["Package"], re.sub(r"0x[0-9a-f]+", "0x_", e["Test"]), e["Action"])' | sort -u
}
cargo_outcomes() {
    { cargo test -- --test-threads=1 2>/dev/null || true; } |
        sed -n 's/^test \(.*\) \.\.\. \(ok\|FAILED\|ignored\)$/\1 \2/p' | sort -u
}

failures=0
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
row project written "pre-existing tests (failing before)" "outcome changed" "vet/test after"
row --- --- --- --- ---
for pkg in "${go_packages[@]}" "${gopath_packages[@]}"; do
    if [[ " ${gopath_packages[*]} " == *" $pkg "* ]]; then
        dir=$out/gopath/src/$pkg
        export GO111MODULE=off GOFLAGS=
    else
        dir=$out/go/$(basename "$pkg")
        export GO111MODULE=on GOFLAGS=-mod=mod
    fi
    mkdir -p "$(dirname "$dir")" && cp -r "/usr/share/gocode/src/$pkg" "$dir" && chmod -R u+w "$dir"
    cd "$dir"
    [ "$GO111MODULE" = off ] || [ -f go.mod ] || printf 'module %s\n\ngo 1.13\n' "$pkg" >go.mod
    go_outcomes >"$out/before.txt"
    written=$("$testsmith" generate --verify --format json . 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["written"])' || echo "?")
    go_outcomes >"$out/after.txt"
    changed=$(comm -23 "$out/before.txt" "$out/after.txt" | wc -l)
    green=yes
    go vet ./... >/dev/null 2>&1 || green="vet FAILS"
    before=$(wc -l <"$out/before.txt")
    failing=$(grep -c ' fail$' "$out/before.txt" || true)
    after_failing=$(comm -13 "$out/before.txt" "$out/after.txt" | grep -c ' fail$' || true)
    [ "$after_failing" -eq 0 ] || green="$green; $after_failing new failures"
    [ "$changed" -eq 0 ] && [ "$green" = yes ] || failures=$((failures + 1))
    row "$pkg" "$written" "$before ($failing)" "$changed" "$green"
done
for crate in "${crates[@]}"; do
    dir=$out/crates/$crate
    mkdir -p "$(dirname "$dir")" && cp -r "$registry/$crate" "$dir" && chmod -R u+w "$dir"
    cd "$dir"
    rm -f Cargo.toml.orig .cargo_vcs_info.json
    cargo_outcomes >"$out/before.txt"
    written=$("$testsmith" generate --verify --format json . 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["written"])' || echo "?")
    cargo_outcomes >"$out/after.txt"
    changed=$(comm -23 "$out/before.txt" "$out/after.txt" | wc -l)
    green=yes
    cargo test --quiet >/dev/null 2>&1 || green="cargo test FAILS"
    before=$(wc -l <"$out/before.txt")
    failing=$(grep -c ' FAILED$' "$out/before.txt" || true)
    [ "$changed" -eq 0 ] && [ "$green" = yes ] || failures=$((failures + 1))
    row "$crate (crate)" "$written" "$before ($failing)" "$changed" "$green"
done
[ "$failures" -eq 0 ]
