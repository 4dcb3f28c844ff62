#!/usr/bin/env bash
# Telemetry overhead with no subscriber installed: fedikv bench of the
# release build before the telemetry commits (main at af4c8c0) and after
# (branch observability), alternating, on SQLite (a temporary file) and
# Redis (database 15 under a prefix of its own). The binaries:
#   git archive af4c8c0 | tar -x -C /tmp/obs/before
#   (cd /tmp/obs/before && cargo build --release -p fedikv-cli) -> /tmp/obs/fedikv-before
#   cargo build --release -p fedikv-cli (this branch)          -> /tmp/obs/fedikv-after
# Neither sets RUST_LOG, so no subscriber is installed; the CLI builds
# fedikv without the `metrics` feature.
set -euo pipefail
out=${1:-docs/bench/2026-12-05-telemetry}
first=${FIRST:-1}
rounds=${ROUNDS:-5}
for r in $(seq "$first" "$rounds"); do
  for b in before after; do
    env -u RUST_LOG /tmp/obs/fedikv-$b bench --store sqlite: \
      --store 'redis://127.0.0.1:6379/15?prefix=fedikv-obs-bench::' \
      --out "$out/$b-run$r.jsonl" 2>/dev/null
  done
done
