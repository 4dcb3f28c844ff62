#!/usr/bin/env bash
# The sitting of docs/benchmarks.md, "Memory store": ROUNDS alternating runs of
# Fedify's MemoryKvStore (the peer harness, not part of this project, run from
# a writable copy of it after `npm ci`, which installs Node 24) and
# `fedikv bench --store memory:` (release build), then the medians.
#
#   PEER_DIR=/tmp/fedify-peer-run [OUT_DIR=dir] docs/bench/2026-12-05-memory/commands.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
rounds="${1:-3}"
out="${OUT_DIR:-docs/bench/2026-12-05-memory}"
mkdir -p "$out"
peer="${PEER_DIR:?a writable copy of the peer harness after npm ci}"
cargo build --release -p fedikv-cli --all-features
for round in $(seq 1 "$rounds"); do
  echo "== round $round: Fedify" >&2
  (cd "$peer" && BENCH_BACKENDS=memory node_modules/.bin/node bench.mjs) >"$out/fedify-$round.jsonl"
  echo "== round $round: fedikv" >&2
  rm -f "$out/fedikv-$round.jsonl"
  target/release/fedikv bench --store memory: --out "$out/fedikv-$round.jsonl"
done
python3 scripts/bench-median.py "$out"/fedify-*.jsonl "$out"/fedikv-*.jsonl | tee "$out/summary.md"
