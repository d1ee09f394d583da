#!/usr/bin/env bash
# Yield of `generate --llm --verify` with a real small model: a local llama.cpp server
# (../shared/local-llm/setup.sh) on the bundled example and on a real Go package copied at
# run time. Reports members → answered → compiled → passed → kept (a passing test that
# asserts something), tokens per kept test, wall time, answers cut at the cap, and the median
# and largest completion. A benchmark, not a CI test.
#
#   bench/real-model/run.sh MODEL_DIR [0.5b|1.5b] [TESTSMITH_BINARY]
#
# MODEL_DIR holds what `setup.sh MODEL_DIR SIZE` installed (outside the repository). The
# server runs with `-t 2 -c 8192` on a free port and is stopped by its PID at the end.
set -euo pipefail
MODEL_DIR=${1:?usage: run.sh MODEL_DIR [0.5b|1.5b] [testsmith binary]}
SIZE=${2:-0.5b}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=${3:-$REPO/target/release/testsmith}
[ -x "$BIN" ] || { echo "build it first: cargo build --release (or pass a binary)" >&2; exit 2; }
MODEL="$MODEL_DIR/qwen2.5-coder-$SIZE-instruct.gguf"
# LLAMA_SERVER overrides the prebuilt server: its CPU backend needs AVX-VNNI, which some
# machines lack (it dies with SIGILL); `cpu-backend.sh MODEL_DIR` builds a copy of it with a
# CPU backend for this machine, and prints the LLAMA_SERVER to use.
SERVER=${LLAMA_SERVER:-$MODEL_DIR/venv/bin/llama-server-vulkan}
[ -f "$MODEL" ] && [ -x "$SERVER" ] || { echo "run ../shared/local-llm/setup.sh $MODEL_DIR $SIZE" >&2; exit 2; }
PKG=${REAL_PACKAGE:-/usr/share/gocode/src/github.com/hashicorp/golang-lru/simplelru}
# More `generate` flags, e.g. EXTRA=--fan-out or EXTRA=--coverage.
EXTRA=${EXTRA:-}

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# nice: the machine is shared, and a benchmark must not starve the builds beside it.
nice -n "${NICE:-15}" "$SERVER" -m "$MODEL" --host 127.0.0.1 --port "$PORT" -t 2 -c 8192 --alias qwen \
    > "$WORK/server.log" 2>&1 &
SRV=$!
# testsmith talks to the server through record.py, which keeps every request and answer in
# $WORK/exchanges.jsonl, to read what the model was given and what it answered.
PROXY=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$HERE/record.py" "$PROXY" "http://127.0.0.1:$PORT" "$WORK/exchanges.jsonl" &
REC=$!
trap 'kill $SRV $REC 2>/dev/null || true' EXIT
until curl -sf "127.0.0.1:$PORT/health" >/dev/null; do sleep 0.5; done
until curl -sf "127.0.0.1:$PROXY/health" >/dev/null; do sleep 0.2; done

run_one() { # NAME SOURCE_DIR
    local name=$1 project="$WORK/$1"
    cp -r "$2" "$project"
    if [ ! -f "$project/go.mod" ] && ls "$project"/*.go >/dev/null 2>&1; then
        printf 'module %s\n\ngo 1.19\n' "$name" > "$project/go.mod"
    fi
    local start end seen
    seen=$(wc -l < "$WORK/server.log")
    start=$(date +%s.%N)
    (cd "$project" && OPENAI_API_KEY=none "$BIN" generate --llm --verify --no-cache \
        --base-url "http://127.0.0.1:$PROXY/v1" --model qwen --concurrency 1 \
        --read-timeout "${READ_TIMEOUT:-600}" --timeout "${TIMEOUT:-900}" $EXTRA \
        --format json . > "$WORK/$name.json" 2> "$WORK/$name.stderr") || echo "$name: exit $?" >&2
    end=$(date +%s.%N)
    tail -n +"$((seen + 1))" "$WORK/server.log" > "$WORK/$name.server.log"
    python3 "$HERE/report.py" "$name" "$WORK/$name.json" "$project" "$(echo "$end - $start" | bc)" \
        "$WORK/$name.server.log"
}

echo "model: qwen2.5-coder-$SIZE-instruct (Q4_K_M), llama-server -t 2; binary: $BIN"
# EXAMPLE_ONLY=1 skips the real package, PACKAGE_ONLY=1 the bundled example.
[ -n "${PACKAGE_ONLY:-}" ] || run_one example "$REPO/fixtures/example"
[ -n "${EXAMPLE_ONLY:-}" ] || run_one "$(basename "$PKG")" "$PKG"
echo "work folder (tests, JSON reports, server log): $WORK"
