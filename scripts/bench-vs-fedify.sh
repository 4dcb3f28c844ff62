#!/usr/bin/env bash
# Runs `fedikv bench` and Fedify's own stores (the peer harness in
# ../shared/peers/fedify-bench, not part of this project) alternately, ROUNDS
# times, in one sitting, and prints the median of each (backend, op).
#
#   scripts/bench-vs-fedify.sh [ROUNDS] [OUT_DIR]    # defaults: 3, docs/bench/<UTC date>
#
# Needs PostgreSQL, MariaDB and Redis on 127.0.0.1 (scripts/services.sh) and the
# peer harness installed (`npm ci` in its folder).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds="${1:-3}"
out="${2:-docs/bench/$(date -u +%F)}"
peer="${PEER_DIR:-../shared/peers/fedify-bench}"
mkdir -p "$out"

cargo build --release -p fedikv-cli
fedikv=target/release/fedikv
# Fedify's packages on the registry: @fedify/postgres 1.8.7 always creates
# UNLOGGED tables, so fedikv runs PostgreSQL both ways (default logged, and
# unlogged). Both sides connect without TLS (postgres.js does not use TLS by
# default; fedikv's default sslmode=prefer would).
stores=(
  memory:
  sqlite:
  "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
  "postgres://postgres@127.0.0.1:5432/test?sslmode=disable&unlogged=true"
  mysql://root@127.0.0.1:3306/test
  redis://127.0.0.1:6379/
)
store_args=()
for s in "${stores[@]}"; do store_args+=(--store "$s"); done
peer_backends="${PEER_BACKENDS:-memory,sqlite+wal,postgres,mysql-mariadb-patched,redis}"

for round in $(seq 1 "$rounds"); do
  echo "== round $round: Fedify ($peer_backends)" >&2
  (cd "$peer" && BENCH_BACKENDS="$peer_backends" BENCH_ALLOW_FAIL=mysql,mysql-mariadb-patched \
    OUT="$(realpath -m "$OLDPWD/$out/fedify-$round.jsonl")" ./run.sh) || echo "peer round $round exited non-zero" >&2
  echo "== round $round: fedikv" >&2
  rm -f "$out/fedikv-$round.jsonl"
  "$fedikv" bench "${store_args[@]}" --raw-sqlite --out "$out/fedikv-$round.jsonl" \
    || echo "fedikv round $round exited non-zero" >&2
done

python3 scripts/bench-median.py "$out"/fedify-*.jsonl "$out"/fedikv-*.jsonl | tee "$out/summary.md"
