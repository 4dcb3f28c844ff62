#!/usr/bin/env bash
# Issue 12 item 6, from this repository alone: do writes, gets and lists slow
# down on a big table? `fedikv bench --scenario large-table` on SQLite,
# PostgreSQL and MariaDB: set/get/cas/list on an empty table, then the same
# on a table of ROWS rows of which half are expired, in one run per backend
# (the comparison is within each run). Around each server run the script
# records the server's own counters (InnoDB buffer-pool reads from disk,
# PostgreSQL blocks read vs hit), which say whether the table still fits in
# the server's cache.
#
#   scripts/bench-scale.sh [ROWS] [OUT_DIR]   # defaults: 1000000, docs/bench/<UTC date>-scale
#
# Environment: BENCH_N (operations per phase, default 20000),
# BENCH_POSTGRES_URL, BENCH_MYSQL_URL (defaults: the servers of
# scripts/services.sh on 127.0.0.1), BENCH_BACKENDS (default
# "sqlite postgres mysql"). Writes OUT_DIR/scale-<backend>.jsonl,
# OUT_DIR/commands.txt (what ran, the machine's load, server counters) and
# OUT_DIR/table.md (scripts/scale_table.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rows="${1:-1000000}"
out="${2:-docs/bench/$(date -u +%F)-scale}"
backends="${BENCH_BACKENDS:-sqlite postgres mysql}"
mkdir -p "$out"
source scripts/bench-env.sh
table="fedikv_scale_$$"
sqlite_file="$(mktemp -d)/scale.sqlite3"
trap 'rm -rf "$(dirname "$sqlite_file")"' EXIT

# `mysql` client arguments for BENCH_MYSQL_URL's host, port and user (the
# password, if any, from MYSQL_PWD), and its database.
my_authority="${my#mysql://}"; my_authority="${my_authority%%/*}"
my_user="${my_authority%@*}"; [ "$my_user" = "$my_authority" ] && my_user=root; my_user="${my_user%%:*}"
my_hostport="${my_authority##*@}"
my_host="${my_hostport%%:*}"; my_port="${my_hostport##*:}"; [ "$my_port" = "$my_hostport" ] && my_port=3306
my_db="${my#*://*/}"; my_db="${my_db%%\?*}"
mysql_cli() { mysql --protocol=tcp -h"$my_host" -P"$my_port" -u"$my_user" "$@"; }

# The servers' own cache counters, as one line of text.
counters() {
  case "$1" in
    mysql)
      mysql_cli -N -e \
        "SELECT CONCAT('innodb_buffer_pool_size_mb=', @@innodb_buffer_pool_size DIV 1048576);
         SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_reads','Innodb_buffer_pool_read_requests','Innodb_data_written')" \
        2>/dev/null | tr '\t\n' '= ' || echo "(mysql client unavailable)"
      ;;
    postgres)
      psql "$pg" -Atc "SELECT 'shared_buffers=' || current_setting('shared_buffers') || ' blks_read=' || blks_read || ' blks_hit=' || blks_hit FROM pg_stat_database WHERE datname = current_database()" \
        2>/dev/null || echo "(psql unavailable)"
      ;;
    *) echo "-" ;;
  esac
}

bench_header > "$out/commands.txt"

for backend in $backends; do
  case "$backend" in
    sqlite) url="sqlite:$sqlite_file" ;;
    postgres) url="$pg$(sep "$pg")sslmode=disable&table=$table" ;;
    mysql) url="$my$(sep "$my")table=$table" ;;
    *) echo "bench-scale: unknown backend $backend (sqlite, postgres, mysql)" >&2; exit 2 ;;
  esac
  cmd=("$fedikv" bench -n "$n" --scenario large-table --rows "$rows" --phase-max 30m
    --store "$url" --out "$out/scale-$backend.jsonl")
  rm -f "$out/scale-$backend.jsonl"
  {
    printf '%q ' "${cmd[@]}" | mask_passwords; echo
    echo "#   before: $(counters "$backend")"
  } >> "$out/commands.txt"
  echo "== $backend" >&2
  "${cmd[@]}" || echo "bench-scale: $backend exited non-zero" >&2
  {
    echo "#   after:  $(counters "$backend")"
    echo "#   load: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >> "$out/commands.txt"
  # Drop the bench table: a million rows is not something to leave behind.
  case "$backend" in
    postgres) psql "$pg" -qc "DROP TABLE IF EXISTS $table" 2>/dev/null || true ;;
    mysql) mysql_cli "$my_db" -e "DROP TABLE IF EXISTS $table" 2>/dev/null || true ;;
  esac
done

python3 scripts/scale_table.py "$out"/scale-*.jsonl | tee "$out/table.md"
