#!/usr/bin/env python3
"""list ops/s per round and medians from r-<build>-<round>.jsonl."""
import glob, json, os, statistics as st
os.chdir(os.path.dirname(os.path.abspath(__file__)))
res = {}
for f in sorted(glob.glob("r-*-*.jsonl")):
    build, rnd = f[2:-6].rsplit("-", 1)
    for line in open(f):
        j = json.loads(line)
        if j.get("op") == "list":
            res.setdefault((build, j.get("impl", "store")), {})[int(rnd)] = j["ops_per_sec"]
for (build, impl), v in sorted(res.items()):
    print(f"{build:7} {impl:10}", " ".join(f"r{r}={x}" for r, x in sorted(v.items())), "median", st.median(v.values()))
