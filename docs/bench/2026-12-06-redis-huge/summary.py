import json, glob, statistics, sys
res = {}
for f in sorted(glob.glob('/tmp/rh/bench-*.jsonl')):
    which = f.split('bench-')[1].split('-')[0]
    for line in open(f):
        r = json.loads(line)
        if r.get('impl') != 'fedikv': continue
        res.setdefault((r['op'], which), []).append(r['ops_per_sec'])
ops = sorted({op for op, _ in res})
print('| op | old (main f980e9f) ops/s, rounds | new (redis-huge) ops/s, rounds | new ÷ old (medians) |')
print('| --- | --- | --- | ---: |')
for op in ops:
    o = res.get((op,'old'),[]); n = res.get((op,'new'),[])
    if not o or not n: continue
    mo, mn = statistics.median(o), statistics.median(n)
    print(f"| {op} | {mo:,.0f} ({', '.join(f'{x:,.0f}' for x in o)}) | {mn:,.0f} ({', '.join(f'{x:,.0f}' for x in n)}) | {mn/mo:.2f}× |")
