#!/usr/bin/env bash
# No false syntax errors: testsmith reports a syntax error only in files the compiler-grade
# parser rejects too — go/parser for Go, syn for Rust.
#
# Usage: bench/crosscheck/syntax.sh go|rust [ROOT...]
# Default roots: Go's standard library ($(go env GOROOT)/src), the local cargo registry
# (~/.cargo/registry/src/*/). Exits 1 when testsmith reports a syntax error in a file the
# reference parser accepts.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${CROSSCHECK_OUT:-${TMPDIR:-/tmp}/testsmith-crosscheck-syntax}
mkdir -p "$out"
lang=${1:?usage: syntax.sh go|rust [ROOT...]}
shift

cargo build --release --quiet --manifest-path "$repo/Cargo.toml" --bin testsmith
case "$lang" in
go)
    [ "$#" -gt 0 ] || set -- "$(go env GOROOT)/src"
    (cd "$here/go" && go build -o "$out/crosscheck-go" .)
    reference=("$out/crosscheck-go")
    ;;
rust)
    [ "$#" -gt 0 ] || set -- "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/
    CARGO_TARGET_DIR=${CROSSCHECK_TARGET_DIR:-$repo/target/crosscheck} \
        cargo build --release --quiet --manifest-path "$here/rust/Cargo.toml"
    reference=("${CROSSCHECK_TARGET_DIR:-$repo/target/crosscheck}/release/crosscheck-rust")
    ;;
*)
    echo "usage: syntax.sh go|rust [ROOT...]" >&2
    exit 2
    ;;
esac

# Exit 1 means some file was flagged or unreadable: what is being measured.
status=0
"$repo/target/release/testsmith" analyze "$@" --format json --lang "$lang" \
    >"$out/testsmith-$lang.json" 2>"$out/testsmith-$lang.stderr" || status=$?
if [ "$status" -gt 1 ]; then
    echo "testsmith failed with exit code $status; see $out/testsmith-$lang.stderr" >&2
    exit "$status"
fi
"${reference[@]}" "$@" >"$out/reference-$lang.jsonl" 2>"$out/reference-$lang.stderr"
python3 "$here/compare_syntax.py" "$out/testsmith-$lang.json" "$out/reference-$lang.jsonl"
