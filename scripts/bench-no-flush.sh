#!/usr/bin/env bash
# Issue 12 item 4 without the disk: fedikv's logged-PostgreSQL and MariaDB
# point operations against their raw-driver floors, on throwaway servers
# whose commits do not wait for a flush. On the machine's servers every
# commit of a write (`set`, `set_ttl`, `cas`, `delete`) waits for the disk,
# and the flush times vary more between runs than fedikv's overhead is
# large; here that wait is gone, so what is left is the client side.
#
#   scripts/bench-no-flush.sh [ROUNDS] [OUT_DIR]   # defaults: 3, docs/bench/<UTC date>-no-flush
#
# The servers, each of this script's own (own data directory under a
# temporary directory, own free loopback port; the machine's servers are not
# touched), stopped and removed when the script ends:
#   - PostgreSQL (initdb; run as the `postgres` user when root) with
#     synchronous_commit=off: a commit returns before its WAL is flushed;
#   - MariaDB (mariadb-install-db, --no-defaults) with
#     innodb_flush_log_at_trx_commit=2: the redo log is written at each
#     commit but flushed once a second.
# Each round runs `fedikv bench --raw` on both (fedikv, then the raw pool
# and the one held connection, on the same table), PostgreSQL first in odd
# rounds and MariaDB first in even ones. Environment: BENCH_N (default
# 20000). Writes OUT_DIR/fedikv-<round>.jsonl, OUT_DIR/commands.txt (what
# ran, the servers' settings, the machine's load) and OUT_DIR/table.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds="${1:-3}"
out="${2:-docs/bench/$(date -u +%F)-no-flush}"
mkdir -p "$out"
source scripts/bench-env.sh

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_bin="$(pg_config --bindir 2>/dev/null || true)"
[ -x "$pg_bin/initdb" ] || pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$pg_bin/initdb" ] || { echo "bench-no-flush: PostgreSQL's initdb is missing (scripts/services.sh installs it)" >&2; exit 2; }
mariadbd="$(command -v mariadbd || echo /usr/sbin/mariadbd)"
[ -x "$mariadbd" ] || { echo "bench-no-flush: mariadbd is missing (scripts/services.sh installs it)" >&2; exit 2; }

dir="$(mktemp -d)"
pg_port="$(free_port)"
my_port="$(free_port)"
my_pid=""
cleanup() {
  as_postgres "$pg_bin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true
  if [ -n "$my_pid" ]; then kill -TERM "$my_pid" 2>/dev/null || true; wait "$my_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] && chown postgres "$dir"
pg_settings="-c synchronous_commit=off"
as_postgres "$pg_bin/initdb" -D "$dir/pg" -A trust -U postgres --no-sync >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w \
  -o "-p $pg_port -k $dir/pg -c listen_addresses=127.0.0.1 $pg_settings" start >/dev/null

my_settings="--innodb-flush-log-at-trx-commit=2 --max-allowed-packet=16M"
mariadb-install-db --no-defaults --datadir="$dir/my" --auth-root-authentication-method=normal \
  --user=root --skip-name-resolve >/dev/null
"$mariadbd" --no-defaults --datadir="$dir/my" --socket="$dir/my.sock" --pid-file="$dir/my.pid" \
  --log-error="$dir/my.err" --port="$my_port" --bind-address=127.0.0.1 --user=root \
  --skip-name-resolve $my_settings &
my_pid=$!
my_up=
for _ in $(seq 60); do
  mariadb --protocol=tcp -h127.0.0.1 -P"$my_port" -uroot -e 'SELECT 1' test >/dev/null 2>&1 && { my_up=1; break; }
  sleep 1
done
[ -n "$my_up" ] || { echo "bench-no-flush: the throwaway MariaDB did not answer within 60 s:" >&2; tail -5 "$dir/my.err" >&2; exit 1; }

pg_store="postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable&table=fedikv_bench_$$"
my_store="mysql://root@127.0.0.1:$my_port/test?table=fedikv_bench_$$"
{
  bench_header
  echo "# throwaway PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on port $pg_port: initdb defaults, $pg_settings"
  echo "# throwaway MariaDB $("$mariadbd" --version | awk '{print $3}') on port $my_port: --no-defaults $my_settings"
  echo "# rounds=$rounds; odd rounds PostgreSQL first, even rounds MariaDB first"
  printf '%q ' "$fedikv" bench -n "$n" --raw --store "$pg_store" --store "$my_store" --out "$out/fedikv-ROUND.jsonl"; echo
} > "$out/commands.txt"

for round in $(seq 1 "$rounds"); do
  if (( round % 2 )); then stores=(--store "$pg_store" --store "$my_store")
  else stores=(--store "$my_store" --store "$pg_store"); fi
  echo "== round $round" >&2
  rm -f "$out/fedikv-$round.jsonl"
  "$fedikv" bench -n "$n" --raw "${stores[@]}" --out "$out/fedikv-$round.jsonl" \
    || echo "# round $round exited non-zero" | tee -a "$out/commands.txt" >&2
  echo "# after round $round: load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/commands.txt"
done

python3 scripts/bench_table.py "$out"/fedikv-*.jsonl | tee "$out/table.md"
