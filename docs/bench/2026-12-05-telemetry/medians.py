#!/usr/bin/env python3
"""Median ops/s per (build, backend, op) over the before-run*/after-run*
JSON Lines in this directory, and after/before; prints Markdown."""
import glob
import json
import os
import statistics
from collections import defaultdict

here = os.path.dirname(os.path.abspath(__file__))
ops = defaultdict(list)  # (build, backend, op) -> [ops/s]
order = []
for build in ("before", "after"):
    for path in sorted(glob.glob(os.path.join(here, f"{build}-run*.jsonl"))):
        with open(path) as f:
            for text in f:
                if text.strip():
                    line = json.loads(text)
                    op = line["op"]
                    if (line["backend"], op) not in order:
                        order.append((line["backend"], op))
                    ops[(build, line["backend"], op)].append(line["ops_per_sec"])
print("| backend | op | before ops/s (median) | after ops/s (median) | after/before | runs |")
print("| --- | --- | --- | --- | --- | --- |")
for backend, op in order:
    before = ops[("before", backend, op)]
    after = ops[("after", backend, op)]
    if not before or not after:
        continue
    b, a = statistics.median(before), statistics.median(after)
    print(f"| {backend} | {op} | {b:,.0f} | {a:,.0f} | {a / b:.3f} | {len(before)}+{len(after)} |")
