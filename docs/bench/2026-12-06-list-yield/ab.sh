#!/usr/bin/env bash
# A/B, 2026-12-06 21:16-21:24 UTC on vm (2 CPUs, load 1.1-1.4): paging::prefetched without (base, 7a3853b)
# and with (yield, f2515ab) a yield after spawning the next page's fetch.
# The two binaries, built first from each commit:
#   git checkout 7a3853b && cargo build --release -p fedikv-cli && cp target/release/fedikv /tmp/fedikv-base
#   git checkout f2515ab && cargo build --release -p fedikv-cli && cp target/release/fedikv /tmp/fedikv-yield
# Medians: python3 docs/bench/2026-12-06-list-yield/medians.py docs/bench/2026-12-06-list-yield
# After each round the machine's load was: 1.13, 1.09, 1.16, 1.42 (1-minute average).
set -u
cd /work/main
for r in 1 2 3 4; do
  if (( r % 2 )); then order="base yield"; else order="yield base"; fi
  for v in $order; do
    /tmp/fedikv-$v bench -n 20000 --store 'redis://127.0.0.1:6379/15' \
      --store 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable&unlogged=true&table=fedikv_ab_yield' \
      --store 'mysql://root@127.0.0.1:3306/test?table=fedikv_ab_yield' --out docs/bench/2026-12-06-list-yield/$v-$r.jsonl 2>/dev/null
  done
  echo "round $r $(cut -d' ' -f1-3 /proc/loadavg)"
done
