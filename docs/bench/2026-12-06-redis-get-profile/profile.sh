#!/usr/bin/env bash
# Where a sequential Redis GET's time goes, fedikv against redis-benchmark:
# `perf record -e cpu-clock -F 2999 -g -a` (both CPUs, every process) over
#   1. fedikv bench's get_hit phase on the store (perf attaches when the
#      `set` phase's line appears and detaches when the `get_hit` line does);
#   2. redis-benchmark -c 1 -n N GET on one key holding a 1 KiB value in the
#      same database;
# then the samples per command (redis-server, fedikv's Tokio workers,
# redis-benchmark, idle) into OUT_DIR/{fedikv,redis-benchmark}.txt.
#   profile.sh BIN REDIS_HOST REDIS_PORT DB OUT_DIR [N]
set -euo pipefail
bin="$1"; host="$2"; port="$3"; db="$4"; out="$5"; n="${6:-20000}"
mkdir -p "$out"
report() {
  local data="$1"
  echo "# window (first, last sample):"
  perf script -i "$data" -F time 2>/dev/null | sed -n '1p;$p'
  echo "# samples by command (both CPUs):"
  perf report -i "$data" --no-children --sort comm --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -6
}

fifo="$(mktemp -u)"; mkfifo "$fifo"
"$bin" bench -n "$n" --store "redis://$host:$port/$db" --out "$out/fedikv.jsonl" 2>"$fifo" &
bench=$!
perf_pid=""
while IFS= read -r line; do
  case "$line" in
    *" set "*) perf record -e cpu-clock -F 2999 -g -a -o "$out/fedikv.perf" 2>/dev/null & perf_pid=$! ;;
    *" get_hit "*) if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; perf_pid=""; fi ;;
  esac
done < "$fifo"
wait "$bench"
rm -f "$fifo"
{ grep '"get_hit"' "$out/fedikv.jsonl"; report "$out/fedikv.perf"; } > "$out/fedikv.txt"

key="fedikv-get-profile-$$"
redis-cli -h "$host" -p "$port" -n "$db" SET "$key" "$(head -c 1024 /dev/zero | tr '\0' x)" >/dev/null
perf record -e cpu-clock -F 2999 -g -a -o "$out/redis-benchmark.perf" -- \
  redis-benchmark -h "$host" -p "$port" --dbnum "$db" -c 1 -n "$n" --csv GET "$key" > "$out/redis-benchmark.csv" 2>/dev/null
redis-cli -h "$host" -p "$port" -n "$db" DEL "$key" >/dev/null
{ cat "$out/redis-benchmark.csv"; report "$out/redis-benchmark.perf"; } > "$out/redis-benchmark.txt"
rm -f "$out/fedikv.perf" "$out/redis-benchmark.perf"
