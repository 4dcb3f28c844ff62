#!/usr/bin/env python3
"""Median ops/s (and p50/p99 latency) per (runtime, backend, op) over several
benchmark JSON Lines files in the peer harness's format; prints Markdown."""
import json
import statistics
import sys
from collections import defaultdict

OPS = ["set", "get_hit", "get_miss", "get_hit_c64", "cas", "list", "set_ttl", "delete"]
runs = defaultdict(lambda: defaultdict(list))  # (runtime, backend) -> op -> [line]
for path in sys.argv[1:]:
    with open(path) as f:
        for text in f:
            if not text.strip():
                continue
            line = json.loads(text)
            op = line.get("op", "")
            if op.startswith("get_hit_c"):
                op = "get_hit_c64"
            if op in OPS:
                runtime = line.get("runtime", "?").split(" ")[0]
                runs[(runtime, line["backend"])][op].append(line)


def cell(lines, key):
    ok = [l for l in lines if l.get("supported", True) and not l.get("errors")]
    if not lines:
        return ""
    if not ok:
        return "—" if any(l.get("supported") is False for l in lines) else "FAIL"
    value = statistics.median(l[key] for l in ok)
    capped = "†" if any(l.get("capped") for l in ok) else ""
    text = f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
    return f"{text}{capped} ({len(ok)})" if key == "ops_per_sec" else text


print("Median ops/s over runs (number of runs); † = a run hit the phase time cap\n")
print("| runtime | backend | " + " | ".join(OPS) + " |")
print("|" + " --- |" * (len(OPS) + 2))
for (runtime, backend), ops in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print(f"| {runtime} | {backend} | " + " | ".join(cell(ops[op], "ops_per_sec") for op in OPS) + " |")
print("\nMedian p50 / p99 latency, µs\n")
print("| runtime | backend | " + " | ".join(OPS) + " |")
print("|" + " --- |" * (len(OPS) + 2))
for (runtime, backend), ops in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print(f"| {runtime} | {backend} | "
          + " | ".join(f"{cell(ops[op], 'p50_us')} / {cell(ops[op], 'p99_us')}" if ops[op] else "" for op in OPS)
          + " |")
