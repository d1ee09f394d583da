#!/usr/bin/env bash
# The coverage benchmark: `testsmith coverage` over a real Go module (default: Debian's
# hashicorp/golang-lru, two packages) against a plain `go test -count=1 ./...` of the same
# module, both warm (build cache filled by a warm-up run). Prints the ratio of this one run.
#
#   bench/coverage.sh [MODULE_DIR]      BIN=path/to/testsmith to skip the release build
set -euo pipefail
module=${1:-/usr/share/gocode/src/github.com/hashicorp/golang-lru}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
[ -f "$module/go.mod" ] || { echo "no go.mod in $module (apt-get install golang-github-hashicorp-golang-lru-dev)"; exit 2; }
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 2; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  BIN="$root/target/release/testsmith"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$module" "$work/module"
cd "$work/module"
export GOFLAGS=-mod=mod GOPROXY=off

echo "== testsmith coverage vs go test on $module ($(nproc) cores)"
hyperfine --style basic --warmup 2 --runs "${RUNS:-10}" --export-json "$work/coverage.json" \
  -n go-test "go test -count=1 ./..." \
  -n go-test-cover "go test -count=1 -cover ./..." \
  -n testsmith-coverage "$BIN coverage --format json ." >/dev/null
python3 - "$work/coverage.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
for name, r in results.items():
    print(f"{name:20} {r['median']*1000:8.0f} ms median  (min {r['min']*1000:.0f}, max {r['max']*1000:.0f})")
base = results["go-test"]["median"]
print(f"testsmith coverage / go test: {results['testsmith-coverage']['median'] / base:.2f}")
print(f"go test -cover / go test:     {results['go-test-cover']['median'] / base:.2f}")
PY

# Per-new-test attribution: one run of the instrumented test binary with one test and a
# profile, as `generate --llm --coverage` does for every new test (the build is shared).
test_name=${TEST:-$(grep -ho '^func Test[A-Za-z0-9_]*' ./*_test.go | head -1 | cut -c6-)}
go test -c -cover -covermode=set -vet=off -o "$work/package.test" . >/dev/null
echo "== per-test attribution: $test_name alone with -test.coverprofile"
hyperfine --style basic --warmup 3 --runs "${RUNS_ONE:-50}" -N --export-json "$work/one.json" \
  -n one-test "$work/package.test -test.run ^${test_name}\$ -test.count=1 -test.coverprofile=$work/one.cover" >/dev/null
python3 - "$work/one.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"one test with its profile: {r['median']*1000:.1f} ms median (min {r['min']*1000:.1f}, max {r['max']*1000:.1f})")
PY

