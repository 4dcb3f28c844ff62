#!/bin/bash
# A/B rounds of `fedikv bench` on Redis (database 11, prefix rlist::), old then new
# (order swapped on even rounds); JSON Lines per run in $OUT.
set -u
OUT=${OUT:-/work/wt/redis-list/docs/bench/2026-12-06-redis-list}
URL='redis://127.0.0.1:6379/11?prefix=rlist::'
mkdir -p "$OUT"
for r in ${ROUNDS:-1 2 3}; do
  if (( r % 2 )); then order="old new"; else order="new old"; fi
  for b in $order; do
    /tmp/fedikv-$b bench -n 20000 --raw --store "$URL" --out "$OUT/$b-$r.jsonl" >/dev/null 2>"$OUT/$b-$r.log"
    echo "round $r $b: $(grep '"list"' "$OUT/$b-$r.jsonl" | tr ',' '\n' | grep -E '"impl"|ops_per_sec' | tr '\n' ' ')"
  done
done
