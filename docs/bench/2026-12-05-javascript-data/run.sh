#!/usr/bin/env bash
# Before/after of issue 10 (JavaScript strings, any JSON depth): the release
# `fedikv` binary of main before the change (BASE, commit dd8230e) and after
# (NEW), alternating, 3 rounds, N=20000, on SQLite (a fresh temp file) and
# PostgreSQL (a fresh table each run), on this machine.
#   BASE=/tmp/fedikv-base NEW=/tmp/fedikv-new docs/bench/2026-12-05-javascript-data/run.sh
# Build each with `cargo build --release -p fedikv-cli` at its commit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
PG=${PG:-postgres://postgres@127.0.0.1:5432/test}
for round in 1 2 3; do
  for side in base new; do
    bin=$BASE; [ "$side" = new ] && bin=$NEW
    dir=$(mktemp -d)
    "$bin" bench -n 20000 --store "sqlite:$dir/bench.sqlite3" \
      --store "$PG?table=bench_js_${side}_${round}" >> "$side-$round.jsonl"
    rm -rf "$dir"
    psql -q "$PG" -c "DROP TABLE IF EXISTS bench_js_${side}_${round}" >/dev/null
  done
done
for side in base new; do
  echo "## $side"
  python3 ../../../scripts/bench-median.py "$side"-*.jsonl
done > results.md
cat results.md
