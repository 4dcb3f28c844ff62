#!/usr/bin/env bash
# Alternating A/B: old (main f980e9f) and new (redis-huge) release binaries.
set -u
cd /tmp/rh
S=redis://127.0.0.1:6379/13
for round in 1 2 3; do
  for which in old new; do
    ./fedikv-$which bench -n 10000 --store $S --out bench-$which-$round.jsonl >/dev/null 2>&1 || echo "bench $which $round failed"
    echo "# round $round $which done $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
