#!/usr/bin/env bash
# usage: measure.sh BINARY LABEL ; prints peak RSS over baseline / value size for set/get/list, two shapes
set -euo pipefail
BIN=$1; LABEL=$2
source /tmp/env.sh
URL="$FEDIKV_TEST_MYSQL_URL?table=fedikv_huge_mem"
D=/tmp/mysql-huge-mem
for shape in string documents; do
  F=$D/$shape.json; SIZE=$(stat -c %s $F)
  P="[\"huge-$LABEL-$$\"]"; K="[\"huge-$LABEL-$$\",\"v\"]"
  /usr/bin/time -f %M -o $D/t $BIN --store "$URL" get "$K" >/dev/null 2>&1 || true
  base=$(tail -1 $D/t)
  out=""
  for cmd in set get list; do
    case $cmd in
      set) /usr/bin/time -f %M -o $D/t $BIN --store "$URL" set "$K" - < $F > /dev/null;;
      get) /usr/bin/time -f %M -o $D/t $BIN --store "$URL" get "$K" > $D/out;;
      list) /usr/bin/time -f %M -o $D/t $BIN --store "$URL" list "$P" > $D/out;;
    esac
    peak=$(tail -1 $D/t)
    out="$out $cmd=$(python3 -c "print(f'{($peak-$base)*1024/$SIZE:.2f}')")"
  done
  $BIN --store "$URL" delete "$K" >/dev/null
  echo "$LABEL $shape size=$SIZE baseline_kib=$base$out"
done
