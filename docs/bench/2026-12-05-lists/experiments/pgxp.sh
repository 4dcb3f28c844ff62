PG='postgres://postgres@127.0.0.1:5432/test?table=lists_bench_pg'
run() { name=$1; shift; env "$@" ./$BIN bench --store "$PG" --phase-max 2s --out xp-pg-$name.jsonl 2>&1 | grep " list " | sed "s/^/$name /"; }
for r in 1 2; do
BIN=fedikv-base run base
BIN=fedikv-xp run pre500
BIN=fedikv-xp run nopre500 XP_NO_PREFETCH=1
BIN=fedikv-xp run pre1000 XP_PG_PAGE=1000
BIN=fedikv-xp run pre250 XP_PG_PAGE=250
BIN=fedikv-xp run pre100 XP_PG_PAGE=100
pgbench -h 127.0.0.1 -U postgres -M prepared -n -f q1000.sql -T 5 -c 1 test 2>&1 | grep tps
done
uptime
