#!/bin/bash
# The server's share of a MariaDB list of 1000 (mariadb-slap, the C client,
# text protocol, one connection, --number-of-queries Q): fedikv's page
# statements (first page, second page) and the same statement for all 1000
# rows, and Fedify's one query, on the table of floor_table.py.
set -eu
Q=${Q:-300}
T=mlist_floor
slap() { printf '%-44s %s\n' "$2" "$(mariadb-slap -h127.0.0.1 -uroot --create-schema=test --concurrency=1 --iterations=1 --number-of-queries=$Q --query="$1" 2>&1 | grep -i 'average number of seconds' | sed 's/.*queries: //')"; }
R="\`key\` >= '[\"_fedify\",\"bench-list\",' AND \`key\` < '[\"_fedify\",\"bench-list\",~'"
LIVE="(\`expires\` IS NULL OR \`expires\` > NOW(6))"
IN="(\`key\` = '[\"_fedify\",\"bench-list\"]' OR ($R))"
REM="CAST(CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(6), \`expires\`) / 1000) AS SIGNED)"
MID=$(mariadb -h127.0.0.1 -uroot test -N -e "SELECT \`key\` FROM $T WHERE $IN ORDER BY \`key\` LIMIT 1 OFFSET 499")
MID=${MID//\"/\\\"}
echo "# $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg); total seconds for Q queries (per query: divide by Q)"
slap "SELECT \`key\`, \`value\`, $REM FROM $T WHERE $IN AND \`key\` > '' AND $LIVE ORDER BY \`key\` LIMIT 501" "fedikv page 1 (501 rows)"
slap "SELECT \`key\`, \`value\`, $REM FROM $T WHERE $IN AND \`key\` > '$MID' AND $LIVE ORDER BY \`key\` LIMIT 501" "fedikv page 2 (500 rows)"
slap "SELECT \`key\`, \`value\`, $REM FROM $T WHERE $IN AND \`key\` > '' AND $LIVE ORDER BY \`key\` LIMIT 1001" "fedikv statement, one page of 1000"
slap "SELECT \`key\`, \`value\` FROM $T WHERE $IN AND \`key\` > '' AND $LIVE ORDER BY \`key\` LIMIT 1001" "  same without the remaining-ms column"
slap "SELECT \`key\`, \`value\` FROM $T WHERE (\`key\` = '[\"_fedify\",\"bench-list\"]' OR \`key\` LIKE '[\"\\_fedify\",\"bench-list\",%' ESCAPE '\\\\') AND $LIVE ORDER BY \`key\`" "Fedify's list query"
slap "SELECT \`key\` FROM $T WHERE $IN AND \`key\` > '' AND $LIVE ORDER BY \`key\` LIMIT 1001" "keys only, 1000 rows"
slap "SELECT 1" "SELECT 1 (round trip)"
