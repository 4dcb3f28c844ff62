#!/usr/bin/env python3
"""The table of `fedikv bench --scenario large-table` runs (JSON Lines of
scripts/bench-scale.sh): per backend and operation, ops/s on the empty table,
on the big one, and the change, against issue 12's target (within 20 %)."""
import json
import sys
from collections import defaultdict

OPS = ["set", "get", "cas", "list"]
TOLERANCE = 0.20


def load(paths):
    """{backend: {(op, label): ops_per_sec}}, the last line of each wins."""
    runs = defaultdict(dict)
    for path in paths:
        with open(path) as f:
            for text in f:
                if not text.strip():
                    continue
                line = json.loads(text)
                op, _, label = line.get("op", "").partition("@")
                if label and line.get("supported", True) and not line.get("errors"):
                    runs[line["backend"]][(op, label)] = line["ops_per_sec"]
    return runs


def table(runs):
    rows = ["| backend | op | empty table | big table | change | within 20 % |",
            "| --- | --- | --- | --- | --- | --- |"]
    for backend, ops in sorted(runs.items()):
        big = sorted({label for (op, label) in ops if label != "empty" and op != "populate"})
        for label in big:
            for op in OPS:
                empty, full = ops.get((op, "empty")), ops.get((op, label))
                if empty is None or full is None:
                    continue
                change = full / empty - 1
                ok = "✓" if change >= -TOLERANCE else "✗"
                rows.append(f"| {backend} | {op} ({label}) | {empty:,.0f}/s | {full:,.0f}/s "
                            f"| {change:+.0%} | {ok} |")
            fill = ops.get(("populate", label))
            if fill is not None:
                rows.append(f"| {backend} | populate {label} | | {fill:,.0f}/s | | |")
    return "\n".join(rows)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: scale_table.py RESULTS.jsonl...")
    print(table(load(sys.argv[1:])))
