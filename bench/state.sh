#!/usr/bin/env bash
# The shared-state benchmark, against bench/llm's fake API (fixed latency L per request),
# F files x M members, concurrency C per machine:
#   1. the cold batch `--llm` run and the warm rerun (all cache hits) with the state in SQLite
#      (.testsmith/state.db) vs in PostgreSQL (--state-url), in one hyperfine run;
#   2. one machine draining the queue vs two machines (two processes on two copies of the
#      project, one shared PostgreSQL database) draining it together: wall time until all
#      are done.
# A throwaway PostgreSQL server is started in a temp dir (as the `postgres` user when run as
# root: initdb refuses root) on a free port, with fsync off, and stopped at the end.
#
#   bench/state.sh [F] [M] [C] [L]      (defaults: 20 10 5 0.25)
set -euo pipefail
F=${1:-20} M=${2:-10} C=${3:-5} L=${4:-0.25}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/testsmith"
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)"; exit 2; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/pg_ctl" ] || { echo "needs PostgreSQL (apt-get install postgresql)"; exit 2; }

work=$(mktemp -d)
chmod 755 "$work"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgport=$((40000 + RANDOM % 20000))
mkdir "$work/pg" && { [ "$(id -u)" != 0 ] || chown postgres "$work/pg"; }
as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
  -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
trap 'kill $server 2>/dev/null; as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null; rm -rf "$work"' EXIT
url="postgres://postgres@127.0.0.1:$pgport/bench"
newdb="$pgbin/dropdb -h 127.0.0.1 -p $pgport -U postgres --if-exists bench && $pgbin/createdb -h 127.0.0.1 -p $pgport -U postgres bench"

port=$((20000 + RANDOM % 20000))
python3 "$here/llm/fake_api.py" "$port" "$L" & server=$!

# A Go package of F files with M exported functions each.
mkdir -p "$work/template/pkg"
for f in $(seq 1 "$F"); do
  {
    echo "package pkg"
    for m in $(seq 1 "$M"); do printf '\nfunc F%d_%d(x int) int { return x + %d }\n' "$f" "$m" "$m"; done
  } > "$work/template/pkg/f$f.go"
done
sleep 0.3

run="$bin generate --llm --batch --base-url http://127.0.0.1:$port/v1 --model bench --concurrency $C -q"
fresh="rm -rf $work/a $work/b && cp -r $work/template $work/a && cp -r $work/template $work/b"
# Warm: fresh copies; SQLite keeps the state of a finished run, PostgreSQL its database.
( eval "$fresh" && cd "$work/a" && $run >/dev/null ) && mv "$work/a/.testsmith" "$work/sqlite-state"
eval "$newdb"
( eval "$fresh" && cd "$work/a" && $run --state-url "$url" >/dev/null )
pg_dump_file="$work/warm.sql"
"$pgbin/pg_dump" -h 127.0.0.1 -p "$pgport" -U postgres bench > "$pg_dump_file"
warm_sqlite="$fresh && cp -r $work/sqlite-state $work/a/.testsmith"
warm_pg="$fresh && $newdb && $pgbin/psql -q -h 127.0.0.1 -p $pgport -U postgres bench < $pg_dump_file >/dev/null"

cd "$work"
hyperfine --style basic --runs 10 --export-json "$work/backends.json" \
  -n sqlite --prepare "$fresh" "cd a && $run" \
  -n postgres --prepare "$fresh && $newdb" "cd a && $run --state-url $url" \
  -n warm-sqlite --prepare "$warm_sqlite" "cd a && $run" \
  -n warm-postgres --prepare "$warm_pg" "cd a && $run --state-url $url" \
  >/dev/null
hyperfine --style basic --runs 5 --export-json "$work/machines.json" \
  -n one-machine --prepare "$fresh && $newdb" "cd a && $run --state-url $url" \
  -n two-machines --prepare "$fresh && $newdb" \
  "(cd a && $run --state-url $url) & (cd b && $run --state-url $url) & wait" \
  >/dev/null

python3 - "$work/backends.json" "$work/machines.json" "$F" "$M" "$C" "$L" <<'PY'
import json, sys
results = {r["command"]: r for f in sys.argv[1:3] for r in json.load(open(f))["results"]}
F, M, C, L = sys.argv[3:7]
median = lambda name: results[name]["median"]
print(f"F={F} files x M={M} members, C={C} per machine, L={L}s (medians: 10 runs; machines 5)")
for kind in ("", "warm-"):
    s, p = median(kind + "sqlite"), median(kind + "postgres")
    label = kind.rstrip("-") or "cold"
    print(f"  {label:5} batch: sqlite {s:.3f}s  postgres {p:.3f}s  ratio {p / s:.3f}")
one, two = median("one-machine"), median("two-machines")
print(f"  one queue: one machine {one:.3f}s  two machines {two:.3f}s  ratio {two / one:.3f}")
PY
