#!/bin/bash
# Redis list floor, server side: the SCAN MATCH walk a list of Fedify's flat
# layout must make, run inside Redis (Lua, so no round trips and no client
# decoding), on a database of 21.5k keys of which 1000 are under the prefix
# (as in `fedikv bench -n 20000`). Uses database 9 of REDIS (flushed!).
# Prints SCAN calls and server time per walk (INFO commandstats deltas) for
# several COUNTs, then the same walk with an MGET of each batch found.
set -eu
REDIS=${REDIS:-redis://127.0.0.1:6379/9}
R="redis-cli -u $REDIS"
python3 - <<'PY' | $R --pipe
import sys
val = '{"id":"' + 'x' * 1000 + '"}'
def cmd(*a):
    out = '*%d\r\n' % len(a)
    for x in a:
        out += '$%d\r\n%s\r\n' % (len(x.encode()), x)
    return out
w = sys.stdout.write
w(cmd('FLUSHDB'))
for i in range(20500):
    w(cmd('SET', '_fedify::bench-doc::%d' % i, val))
for i in range(1000):
    w(cmd('SET', '_fedify::bench-list::https_://example.com/notes/%d' % i, val))
PY
WALK='local cur="0"; local n=0; repeat local r=redis.call("SCAN",cur,"MATCH",ARGV[1],"COUNT",tonumber(ARGV[2])); cur=r[1]; n=n+#r[2]; until cur=="0"; return n'
LIST='local cur="0"; local n=0; repeat local r=redis.call("SCAN",cur,"MATCH",ARGV[1],"COUNT",tonumber(ARGV[2])); cur=r[1]; if #r[2] > 0 then local v=redis.call("MGET",unpack(r[2])); n=n+#v end; until cur=="0"; return n'
stat() { $R INFO commandstats | tr -d '\r' | sed -n "s/^cmdstat_$1:calls=\([0-9]*\),usec=\([0-9]*\),.*/\1 \2/p"; }
for count in 10 100 1000 10000 100000; do
  read -r c0 u0 <<<"$(stat scan)"
  $R -r 10 EVAL "$WALK" 0 '_fedify::bench-list::*' "$count" >/dev/null
  read -r c1 u1 <<<"$(stat scan)"
  echo "COUNT $count: $(( (c1 - c0) / 10 )) SCAN calls per walk, $(( (u1 - u0) / 10 )) us of server time per walk"
done
start=$(date +%s%N)
$R -r 20 EVAL "$LIST" 0 '_fedify::bench-list::*' 1000 >/dev/null
end=$(date +%s%N)
echo "walk + MGET of the 1000 values inside Redis: $(( 20 * 1000000000 / (end - start) )) lists/s"
$R FLUSHDB >/dev/null
