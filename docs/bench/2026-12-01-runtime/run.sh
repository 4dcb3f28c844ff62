#!/usr/bin/env bash
# Alternating rounds: fedikv bench with the command on block_on's thread (blockon) vs spawned on a worker (spawn).
set -euo pipefail
for r in 1 2 3; do
  for b in blockon spawn; do
    /tmp/fedikv-$b bench --store memory: --store sqlite: --store redis://127.0.0.1:6379/ \
      --store "postgres://postgres@127.0.0.1:5432/test?sslmode=disable" --store mysql://root@127.0.0.1:3306/test \
      --out /tmp/spawn-bench/$b-run$r.jsonl 2>/dev/null
  done
done
