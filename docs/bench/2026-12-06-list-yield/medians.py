#!/usr/bin/env python3
"""Per-round ops/s and medians of each variant (file stem <variant>-<round>.jsonl): medians.py DIR [OPS]."""
import json,glob,collections,sys,statistics
d=collections.defaultdict(lambda: collections.defaultdict(dict))
base=sys.argv[1]; ops=sys.argv[2].split(',') if len(sys.argv)>2 else None
for f in sorted(glob.glob(base+'/*.jsonl')):
    v,r=f.split('/')[-1][:-6].rsplit('-',1)
    for l in open(f):
        x=json.loads(l)
        if ops and x['op'] not in ops: continue
        d[(x['backend'],x['op'])][v][r]=x['ops_per_sec']
for k,vs in d.items():
    names=sorted(vs)
    s='  '.join(f"{n}: {[round(vs[n][r]) for r in sorted(vs[n])]} med {statistics.median(vs[n].values()):.0f}" for n in names)
    print(k, s)
