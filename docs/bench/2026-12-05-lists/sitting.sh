#!/bin/bash
# One sitting: 3 rounds alternating before (main af4c8c0) and after (list-speed), and the references.
OUT=/work/wt/lists/docs/bench/2026-12-05-lists
PG='postgres://postgres@127.0.0.1:5432/test?table=lists_bench_pg'
R='redis://127.0.0.1:6379/11?prefix=lists-bench::'
MY='mysql://root@127.0.0.1:3306/test?table=lists_bench_my'
for r in 1 2 3; do
  for side in before after; do
    bin=./fedikv-base; [ $side = after ] && bin=./fedikv-xp
    $bin bench --store "$PG" --phase-max 3s --out $OUT/postgres-$side-$r.jsonl 2>&1 | grep " list " | sed "s/^/$side $r /"
    pgbench -h 127.0.0.1 -U postgres -M prepared -n -f q1000.sql -T 5 -c 1 test > $OUT/pgbench-$side-$r.txt 2>&1; grep tps $OUT/pgbench-$side-$r.txt | sed "s/^/pgbench $r /"
    $bin bench --store "$R" --phase-max 3s --out $OUT/redis-$side-$r.jsonl 2>&1 | grep " list " | sed "s/^/$side $r /"
  done
  ./fedikv-xp bench --store "$MY" --phase-max 3s --out $OUT/mysql-after-$r.jsonl 2>&1 | grep " list " | sed "s/^/after $r /"
  ./fedikv-xp bench --store sqlite: --raw-sqlite --phase-max 3s --out $OUT/sqlite-after-$r.jsonl 2>&1 | grep " list " | sed "s/^/after $r /"
  uptime
done
