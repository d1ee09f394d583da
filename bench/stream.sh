#!/usr/bin/env bash
# Streamed vs whole answers with a real small model: `generate --llm --verify` on a real Go
# package (go-humanize's number formatting, copied at run time) against a local llama.cpp
# server, once streamed (the default: the repetition stop cuts runaways) and once with
# `--no-stream`. Prints, per run: wall time, requests, answers, answers cut (and of those,
# stopped repeating), completion tokens (median, largest, all), tests written. A benchmark,
# not a CI test.
#
#   bench/stream.sh MODEL.gguf [TESTSMITH_BINARY]
#
# LLAMA_SERVER names the server binary (default: llama-server on PATH). The server runs with
# one slot (`-np 1`, so `--concurrency 1`) on a free port, under `nice`, and is stopped by
# its PID at the end.
set -euo pipefail
MODEL=${1:?usage: stream.sh MODEL.gguf [testsmith binary]}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BIN=${2:-$REPO/target/release/testsmith}
SERVER=${LLAMA_SERVER:-llama-server}
PKG=${REAL_PACKAGE:-/usr/share/gocode/src/github.com/dustin/go-humanize}
[ -x "$BIN" ] || { echo "build it first: cargo build --release (or pass a binary)" >&2; exit 2; }

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nice -n "${NICE:-15}" "$SERVER" -m "$MODEL" --host 127.0.0.1 --port "$PORT" -t "${THREADS:-1}" \
    -np 1 -c 8192 --alias qwen > "$WORK/server.log" 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT
until curl -sf "127.0.0.1:$PORT/health" >/dev/null; do sleep 0.5; done

run_one() { # NAME FLAGS...
    local name=$1 project="$WORK/$1"
    shift
    mkdir -p "$project"
    # Six files of plain functions, their tests left out: eleven members to write tests for.
    cp "$PKG"/{comma,commaf,ordinals,bytes,humanize,ftoa}.go "$project/"
    printf 'module github.com/dustin/go-humanize\n\ngo 1.19\n' > "$project/go.mod"
    local start end
    start=$(date +%s.%N)
    (cd "$project" && OPENAI_API_KEY=none "$BIN" generate --llm --verify --no-cache \
        --base-url "http://127.0.0.1:$PORT/v1" --model qwen --concurrency 1 "$@" \
        --format json . > "$WORK/$name.json" 2> "$WORK/$name.stderr") || echo "$name: exit $?"
    end=$(date +%s.%N)
    python3 - "$name" "$WORK/$name.json" "$(echo "$end - $start" | bc)" <<'PY'
import json, sys
name, path, wall = sys.argv[1], sys.argv[2], float(sys.argv[3])
summary = json.load(open(path))["summary"]
llm = summary["llm"]
print(f"{name:>9}: {wall:6.0f} s, {llm['requests_sent']} requests, {llm['answers']} answers, "
      f"{llm['answers_cut']} cut ({llm['answers_repeating']} repeating), completion tokens "
      f"median {llm['completion_median']} / max {llm['completion_max']} / all {llm['tokens_out']}, "
      f"{summary['written']} of {summary['members']} written")
PY
}

run_one streamed
run_one whole --no-stream
echo "logs: $WORK"
