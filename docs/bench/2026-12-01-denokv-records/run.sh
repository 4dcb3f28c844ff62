#!/usr/bin/env bash
# Alternating runs of two fedikv binaries on Deno KV (file, and a fresh denokv server each run).
set -euo pipefail
out=/tmp/bench-records
denokv=~/.cache/fedikv/denokv-0.14.0/bin/denokv
for r in 1 2 3; do
  for bin in main records; do
    dir=$(mktemp -d)
    "$denokv" --sqlite-path "$dir/server.sqlite3" serve --access-token bench-token-123 --addr 127.0.0.1:4513 >/dev/null 2>&1 &
    pid=$!
    for i in $(seq 50); do (echo > /dev/tcp/127.0.0.1/4513) 2>/dev/null && break; sleep 0.1; done
    echo "run $r $bin $(date -u +%T)" >&2
    /tmp/fedikv-$bin bench --store denokv: --store 'denokv+http://127.0.0.1:4513?token=bench-token-123' --out "$out/$bin-run$r.jsonl"
    kill $pid; wait $pid 2>/dev/null || true
    rm -rf "$dir"
  done
done
echo done >&2
