#!/usr/bin/env bash
# usage: measure.sh BINARY LABEL STORE [set-only]
B=$1 L=$2 S=$3 ONLY=${4:-}
cd /tmp/rh
m() { /usr/bin/time -f %M -o /tmp/rh/t.$$ "$@" >/dev/null 2>/tmp/rh/err.$$ < "${IN:-/dev/null}" || { echo "FAIL $*: $(cat /tmp/rh/err.$$)"; }; cat /tmp/rh/t.$$; }
base=$(m $B --store $S get '["nothing"]' 2>/dev/null | tail -1)
for shape in big docs; do
  size=$(stat -c %s $shape.json)
  s=$(IN=$shape.json m $B --store $S set '["huge-m","k"]' -)
  line="$L $shape baseline=${base}KB set=${s}KB"
  if [ -z "$ONLY" ]; then
    g=$(m $B --store $S get '["huge-m","k"]')
    l=$(m $B --store $S list '["huge-m"]')
    line="$line get=${g}KB list=${l}KB"
  fi
  ratio() { python3 -c "print(f'{($1-$base)*1024/$size:.2f}')"; }
  line="$line | set $(ratio ${s##*$'\n'})"
  [ -z "$ONLY" ] && line="$line get $(ratio ${g##*$'\n'}) list $(ratio ${l##*$'\n'})"
  echo "$line"
  $B --store $S delete '["huge-m","k"]' >/dev/null
done
