#!/usr/bin/env bash
# Profiles the `list` phase of `fedikv bench` on one store: perf attaches to
# the bench process when the `cas` phase's line appears and detaches when
# the `list` line appears.
#   docs/bench/2026-12-06-redis-list-profile/profile-list.sh BIN STORE_URL OUT_DIR [N]
set -euo pipefail
bin="$1"; store="$2"; out="$3"; n="${4:-20000}"
mkdir -p "$out"
fifo="$(mktemp -u)"; mkfifo "$fifo"
"$bin" bench -n "$n" --store "$store" --out "$out/bench.jsonl" 2>"$fifo" &
bench=$!
perf_pid=""
while IFS= read -r line; do
  echo "$line" >&2
  case "$line" in
    *" cas "*) perf record -e cpu-clock -F 2999 -g -a -o "$out/perf.data" 2>"$out/perf.log" & perf_pid=$! ;;
    *" list "*) [ -n "$perf_pid" ] && kill -INT "$perf_pid" && wait "$perf_pid" || true; perf_pid="" ;;
  esac
done < "$fifo"
wait "$bench"
rm -f "$fifo"
