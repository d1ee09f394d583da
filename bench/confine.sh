#!/usr/bin/env bash
# The confinement benchmark: what `testsmith __confine` (user + network + mount namespaces,
# lo up, tmpfs over the socket folders, read-only .git/.testsmith, Landlock) adds to the
# verification of a real Go module (default: Debian's hashicorp/golang-lru) and a real crate
# (default: strsim from the cargo registry). Each pair runs the same command with the same
# cleared environment and private caches, warm, interleaved by hyperfine; the ratio is of
# this one run. `testsmith verify` over the module is timed too, for scale.
#
#   bench/confine.sh [MODULE_DIR] [CRATE_DIR]     BIN=path/to/testsmith to skip the build
set -euo pipefail
module=${1:-/usr/share/gocode/src/github.com/hashicorp/golang-lru}
crate=${2:-$(ls -d "$HOME"/.cargo/registry/src/*/strsim-0.11* 2>/dev/null | head -1)}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
[ -f "$module/go.mod" ] || { echo "no go.mod in $module"; exit 2; }
[ -f "$crate/Cargo.toml" ] || { echo "no crate at '$crate' (pass CRATE_DIR)"; exit 2; }
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 2; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  BIN="$root/target/release/testsmith"
fi
level=$("$BIN" __confine --probe | head -1)
[ "$level" = "namespaces+landlock" ] || { echo "confinement here is '$level'"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$module" "$work/module"
cp -r "$crate" "$work/crate"
rm -f "$work/crate/Cargo.toml.orig"
mkdir -p "$work/module/.testsmith/build/tmp" "$work/crate/.testsmith/build/tmp"

# The environment the runner gives: cleared, private TMPDIR and caches, offline.
go_env=(env -i PATH="$PATH" HOME="$HOME" GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local
  TMPDIR="$work/module/.testsmith/build/tmp" GOCACHE="$work/module/.testsmith/build/go-cache")
cargo_env=(env -i PATH="$PATH" HOME="$HOME" CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never
  TMPDIR="$work/crate/.testsmith/build/tmp" CARGO_TARGET_DIR="$work/crate/.testsmith/build/target")
go_test="go test -count=1 -json ./..."
cargo_test="cargo test --tests --no-fail-fast"
confine() { echo "$BIN __confine --level namespaces+landlock --dir $1 --"; }

echo "== confinement overhead ($(nproc) cores, $("$BIN" --version))"
cd "$work/module"
hyperfine --style basic --warmup 2 --runs "${RUNS:-15}" --export-json "$work/go.json" \
  -n go-plain "${go_env[*]} $go_test" \
  -n go-confined "${go_env[*]} $(confine "$work/module") $go_test" >/dev/null
cd "$work/crate"
hyperfine --style basic --warmup 2 --runs "${RUNS:-15}" --export-json "$work/cargo.json" \
  -n cargo-plain "${cargo_env[*]} $cargo_test" \
  -n cargo-confined "${cargo_env[*]} $(confine "$work/crate") $cargo_test" >/dev/null
cd "$work/module"
hyperfine --style basic --warmup 1 --runs "${RUNS:-15}" --export-json "$work/verify.json" \
  -n testsmith-verify "$BIN verify ." >/dev/null
python3 - "$work/go.json" "$work/cargo.json" "$work/verify.json" <<'PY'
import json, sys
results = {}
for path in sys.argv[1:]:
    results.update({r["command"]: r for r in json.load(open(path))["results"]})
for name, r in results.items():
    print(f"{name:18} {r['median']*1000:8.0f} ms median  (min {r['min']*1000:.0f}, max {r['max']*1000:.0f})")
for tool in ("go", "cargo"):
    plain, confined = results[f"{tool}-plain"]["median"], results[f"{tool}-confined"]["median"]
    print(f"{tool}: confined / plain = {confined / plain:.3f}  (+{(confined - plain)*1000:.0f} ms)")
PY
