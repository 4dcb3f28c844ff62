#!/bin/bash
# The alternating rounds of 2026-12-06 (docs/benchmarks.md, "2026-12-06").
# BEFORE and AFTER: release `fedikv` binaries of main 29ffa9e and of the
# list-speed branch; OUT: where the JSON Lines go; run from the repository
# root with the servers of /tmp/env.sh-like FEDIKV_TEST_MYSQL_URL.
#   ab.sh mysql-n20000 6   fedikv -n 20000 --raw, Fedify -n 20000
#   ab.sh mysql-quick 6    -n 2000, phase cap 1 s (the list phase is capped)
#   ab.sh mysql-quick3 6   -n 2000, phase cap 3 s
#   ab.sh sqlite 5         fedikv -n 20000 --raw on a fresh SQLite file
set -u
set_name=$1; rounds=$2
for i in $(seq 1 "$rounds"); do
  for side in base new; do
    bin=$([ $side = base ] && echo "$BEFORE" || echo "$AFTER")
    case $set_name in
      mysql-n20000) "$bin" bench -n 20000 --raw --store "$FEDIKV_TEST_MYSQL_URL?table=lists_ab_$side" --out "$OUT/$set_name-$side-$i.jsonl" ;;
      mysql-quick) "$bin" bench -n 2000 --phase-max 1s --store "$FEDIKV_TEST_MYSQL_URL?table=lists_q_$side" --out "$OUT/$set_name-$side-$i.jsonl" ;;
      mysql-quick3) "$bin" bench -n 2000 --phase-max 3s --store "$FEDIKV_TEST_MYSQL_URL?table=lists_q3_$side" --out "$OUT/$set_name-$side-$i.jsonl" ;;
      sqlite) rm -f /tmp/ab.sqlite3*; "$bin" bench -n 20000 --raw --store sqlite:/tmp/ab.sqlite3 --out "$OUT/$set_name-$side-$i.jsonl"; rm -f /tmp/ab.sqlite3* ;;
    esac 2>/dev/null
  done
  case $set_name in
    mysql-n20000) interop/node_modules/.bin/node interop/bench.mjs -n 20000 --backends mysql --mysql "$FEDIKV_TEST_MYSQL_URL" --out "$OUT/$set_name-fedify-$i.jsonl" ;;
    mysql-quick) interop/node_modules/.bin/node interop/bench.mjs -n 2000 --phase-max 1 --backends mysql --mysql "$FEDIKV_TEST_MYSQL_URL" --out "$OUT/$set_name-fedify-$i.jsonl" ;;
    mysql-quick3) interop/node_modules/.bin/node interop/bench.mjs -n 2000 --phase-max 3 --backends mysql --mysql "$FEDIKV_TEST_MYSQL_URL" --out "$OUT/$set_name-fedify-$i.jsonl" ;;
  esac 2>/dev/null
  echo "$set_name round $i done $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
done
