#!/usr/bin/env bash
# fedikv against Fedify's own stores, from this repository alone: ROUNDS
# alternating rounds of `fedikv bench --raw` (each SQL and Redis store
# followed by its raw-driver floors), `interop/bench.mjs` (Fedify's
# packages through the same workload) and scripts/bench_c_clients.py (the
# servers' own C clients on fedikv's reads, one connection), then the table
# and chart of scripts/bench_table.py.
#
#   scripts/bench-vs-fedify.sh [ROUNDS] [OUT_DIR]   # defaults: 3, docs/bench/<UTC date>
#
# Environment: BENCH_N (operations per phase, default 20000),
# BENCH_POSTGRES_URL, BENCH_MYSQL_URL, BENCH_REDIS_URL (defaults: the
# servers of scripts/services.sh on 127.0.0.1). Needs those servers, and
# Node 24 with Fedify's packages in interop/node_modules
# (scripts/interop-setup.sh), and pgbench, psql, mariadb-slap (or
# mysqlslap), mariadb (or mysql), redis-benchmark and redis-cli on PATH.
# Writes to OUT_DIR: fedikv-<round>.jsonl, fedify-<round>.jsonl,
# c-clients-<round>.jsonl, each side's stderr as <side>-<round>.log,
# commands.txt (what ran, and the machine's load),
# table.md and chart.svg.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds="${1:-3}"
out="${2:-docs/bench/$(date -u +%F)}"
node=interop/node_modules/.bin/node
[ -x "$node" ] || { echo "bench-vs-fedify: $node is missing: run scripts/interop-setup.sh" >&2; exit 2; }
mkdir -p "$out"
source scripts/bench-env.sh
# @fedify/postgres creates UNLOGGED tables, so fedikv runs PostgreSQL both
# ways (default logged, and unlogged: the row Fedify's is compared with).
# Neither side uses TLS on loopback.
# Tables of this run alone (other programs may benchmark the same servers);
# the Redis prefix is unique to each run anyway.
table="table=fedikv_bench_$$"
fedikv_cmd=("$fedikv" bench -n "$n" --raw
  --store memory:
  --store sqlite:
  --store "$pg$(sep "$pg")sslmode=disable&$table"
  --store "$pg$(sep "$pg")sslmode=disable&unlogged=true&$table"
  --store "$my$(sep "$my")$table"
  --store "$redis")
fedify_cmd=("$node" interop/bench.mjs -n "$n"
  --backends memory,sqlite,postgres-unlogged,mysql,redis
  --postgres "$pg" --mysql "$my" --redis "$redis")
c_cmd=(python3 scripts/bench_c_clients.py --fedikv "$fedikv" -n "$n"
  --postgres "$pg" --mysql "$my" --redis "$redis")

{
  bench_header
  echo "# rounds=$rounds; odd rounds run Fedify, fedikv, C clients; even rounds C clients, fedikv, Fedify"
  printf '%q ' "${fedikv_cmd[@]}" --out "$out/fedikv-ROUND.jsonl"; echo
  printf '%q ' "${fedify_cmd[@]}" --out "$out/fedify-ROUND.jsonl"; echo
  printf '%q ' "${c_cmd[@]}" --out "$out/c-clients-ROUND.jsonl"; echo
} | mask_passwords > "$out/commands.txt"

# One side's round: $1 the side's name, $2 its file stem, $3 the round, then
# its command. Its stderr is copied to <stem>-<round>.log (passwords masked);
# a failed round is said on stderr and kept in commands.txt with the data
# (the terminal's output is usually gone by the time the table is read).
run_side() {
  local name="$1" file="$2-$3" round="$3"; shift 3
  echo "== round $round: $name" >&2
  rm -f "$out/$file.jsonl"
  "$@" --out "$out/$file.jsonl" 2> >(mask_passwords | tee "$out/$file.log" >&2) \
    || echo "# $name round $round exited non-zero (its stderr: $file.log)" | tee -a "$out/commands.txt" >&2
}
run_fedikv() { run_side fedikv fedikv "$1" "${fedikv_cmd[@]}"; }
run_fedify() { run_side Fedify fedify "$1" "${fedify_cmd[@]}"; }
run_c_clients() { run_side "C clients" c-clients "$1" "${c_cmd[@]}"; }
for round in $(seq 1 "$rounds"); do
  if (( round % 2 )); then run_fedify "$round"; run_fedikv "$round"; run_c_clients "$round"
  else run_c_clients "$round"; run_fedikv "$round"; run_fedify "$round"; fi
  echo "# after round $round: load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/commands.txt"
done

shopt -s nullglob  # a kind of file no round wrote is left out
python3 scripts/bench_table.py --svg "$out/chart.svg" "$out"/fedikv-*.jsonl "$out"/fedify-*.jsonl \
  "$out"/c-clients-*.jsonl \
  | tee "$out/table.md"
