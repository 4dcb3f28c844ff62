R='redis://127.0.0.1:6379/11?prefix=lists-bench::'
run() { name=$1; shift; env "$@" ./$BIN bench --store "$R" --phase-max 2s --out xp-redis-$name.jsonl 2>&1 | grep -E " list |ERROR" | sed "s/^/$name /"; }
for r in 1 2; do
BIN=fedikv-base run base
BIN=fedikv-xp run pre
BIN=fedikv-xp run nopre XP_NO_PREFETCH=1
BIN=fedikv-xp run pre-scan5k XP_SCAN=5000
BIN=fedikv-xp run pre-scan5k-mget1000 XP_SCAN=5000 XP_MGET=1000
BIN=fedikv-xp run pre-scan1k-mget1000 XP_MGET=1000
done
uptime
