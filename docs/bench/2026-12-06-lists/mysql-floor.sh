#!/bin/bash
# MariaDB list floor, the server through its own C client (mariadb-slap, text
# protocol, one connection): fedikv's page statement and Fedify's list query
# on a throwaway table of 21.5k rows of ~1 KiB, 1000 under the prefix.
set -eu
M="mariadb -h127.0.0.1 -uroot test"
$M <<'SQL'
SET SESSION max_recursive_iterations=100000;
DROP TABLE IF EXISTS lists_floor;
CREATE TABLE lists_floor (`key` VARCHAR(768) NOT NULL, `value` JSON NOT NULL, `expires` DATETIME(6) NULL DEFAULT NULL, PRIMARY KEY (`key`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX idx_lists_floor_expires ON lists_floor (expires);
INSERT INTO lists_floor WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < 20499) SELECT CONCAT('["_fedify","bench-doc","', i, '"]'), CONCAT('{"id":"', REPEAT('x', 1000), '"}'), NULL FROM n;
INSERT INTO lists_floor WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < 999) SELECT CONCAT('["_fedify","bench-list","https://example.com/notes/', i, '"]'), CONCAT('{"id":"', REPEAT('x', 1000), '"}'), NULL FROM n;
SQL
slap() { echo "$2: $(mariadb-slap -h127.0.0.1 -uroot --create-schema=test --concurrency=1 --iterations=1 --number-of-queries=200 --query="$1" 2>&1 | grep -i 'average number of seconds')  (200 queries)"; }
R="\`key\` >= '[\"_fedify\",\"bench-list\",' AND \`key\` < '[\"_fedify\",\"bench-list\",~'"
LIVE="(\`expires\` IS NULL OR \`expires\` > NOW(6))"
IN="(\`key\` = '[\"_fedify\",\"bench-list\"]' OR ($R))"
REM="CAST(CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(6), \`expires\`) / 1000) AS SIGNED)"
slap "SELECT \`key\`, \`value\`, $REM FROM lists_floor WHERE $IN AND \`key\` > '' AND $LIVE ORDER BY \`key\` LIMIT 501" "fedikv page (501 rows)"
slap "SELECT \`key\`, \`value\`, $REM FROM lists_floor WHERE $IN AND \`key\` > '' AND $LIVE ORDER BY \`key\`" "fedikv statement, all 1000 rows"
slap "SELECT \`key\` FROM lists_floor WHERE $IN AND \`key\` > '' AND $LIVE ORDER BY \`key\` LIMIT 1 OFFSET 499" "main's key-only page-end query"
slap "SELECT \`key\`, \`value\` FROM lists_floor WHERE (\`key\` = '[\"_fedify\",\"bench-list\"]' OR \`key\` LIKE '[\"\\_fedify\",\"bench-list\",%' ESCAPE '\\\\') AND $LIVE ORDER BY \`key\`" "Fedify's list query"
$M -e "DROP TABLE lists_floor"
