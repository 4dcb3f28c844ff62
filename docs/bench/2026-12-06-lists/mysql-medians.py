"""Medians of the MariaDB `list` rows of an A/B/Fedify sitting.

Usage: python3 mysql-medians.py 'docs/bench/2026-12-06-lists/mysql-n20000-*.jsonl'
Files are named PREFIX-{base,new,fedify}-ROUND.jsonl; prints each round's
list ops/s (fedikv, its raw floor, Fedify), the medians and the median of
the per-round ratios to Fedify.
"""
import glob, json, re, statistics, sys

rows = {}
for f in sorted(glob.glob(sys.argv[1])):
    side, rnd = re.search(r"-(base|new|final|fedify)-(\d+)\.jsonl$", f).groups()
    for line in open(f):
        x = json.loads(line)
        if x["op"] != "list":
            continue
        name = side if x.get("impl", "fedify") in ("fedikv", "fedify") else side + "-raw"
        rows.setdefault(int(rnd), {})[name] = x["ops_per_sec"]
for r in sorted(rows):
    print(r, {k: round(v, 1) for k, v in sorted(rows[r].items())})
for k in ["base", "new", "final", "fedify", "base-raw", "new-raw"]:
    v = [rows[r][k] for r in rows if k in rows[r]]
    if v:
        print(f"{k}: median {statistics.median(v):.1f} over {len(v)} rounds")
for k in ["base", "new", "final"]:
    v = [rows[r][k] / rows[r]["fedify"] for r in rows if k in rows[r] and "fedify" in rows[r]]
    if v:
        print(f"{k} / fedify, median of per-round ratios: {statistics.median(v):.2f}")
