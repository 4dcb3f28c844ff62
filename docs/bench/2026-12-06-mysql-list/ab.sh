#!/bin/bash
# Alternating rounds: old (main f980e9f), new (this branch), Fedify's
# @fedify/mysql (interop/bench.mjs under Node 24), the order rotated each
# round; the standard workload, -n 20000 (N = 20000 documents beside the
# 1000 listed keys), MariaDB only, --raw for the floor after each fedikv run.
#   ab.sh ROUNDS [TAG]    (binaries in /tmp/fedikv-mlist-{old,new1})
set -u
cd "$(dirname "$0")"
rounds=${1:-3}; tag=${2:-r}
MY=mysql://root@127.0.0.1:3306/test
NODE=/work/main/interop/node_modules/.bin/node
run() {
  case $1 in
    old|new1) /tmp/fedikv-mlist-$1 bench -n 20000 --raw --store "$MY?table=mlist_ab_$1" --out $tag-$1-$2.jsonl ;;
    fedify) (cd /work/main && $NODE interop/bench.mjs -n 20000 --backends mysql --mysql $MY --out /work/wt/mysql-list/docs/bench/2026-12-06-mysql-list/$tag-fedify-$2.jsonl) ;;
  esac
}
order=(old new1 fedify)
for r in $(seq ${FIRST:-1} $rounds); do
  echo "# round $r $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $tag-rounds.txt
  for k in 0 1 2; do
    b=${order[$(( (k + r - 1) % 3 ))]}
    echo "== round $r $b $(date -u +%T)" >&2
    run $b $r 2> >(tail -n 5 >&2) > /dev/null
  done
done
