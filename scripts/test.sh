#!/usr/bin/env bash
# The project's whole test suite, against real servers on 127.0.0.1:
#   1. scripts/services.sh: installs/starts PostgreSQL, MariaDB, Redis and the
#      denokv KV Connect server (scripts/denokv.sh);
#      scripts/redis-cluster.sh: starts the Redis Cluster on 127.0.0.1:7000-7005;
#      scripts/interop-setup.sh: installs Node 24, Fedify's packages and Deno for
#      the interop tests (crates/fedikv/tests/it/*/interop.rs);
#   2. every crate's tests with every feature, servers required (a missing
#      server fails the run instead of skipping its tests), the fault tests
#      among them: they start throwaway PostgreSQL, MariaDB and Redis servers
#      of their own on free loopback ports (and stop only those), one fault
#      test at a time. This script never stops or restarts the machine's
#      servers;
#   3. the benchmark scripts' tests (scripts/test_bench_table.py,
#      scripts/test_scale_table.py, scripts/test_bench_c_clients.py, which
#      runs the servers' own C clients on fedikv's data: pgbench,
#      mariadb-slap, redis-benchmark);
#   4. the fuzz targets (scripts/fuzz.sh), FEDIKV_FUZZ_SECONDS (default 30)
#      seconds each.
# Server URLs can be overridden with the FEDIKV_TEST_*_URL variables.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/services.sh
scripts/redis-cluster.sh
scripts/interop-setup.sh

export FEDIKV_TEST_POSTGRES_URL="${FEDIKV_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export FEDIKV_TEST_MYSQL_URL="${FEDIKV_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
export FEDIKV_TEST_REDIS_URL="${FEDIKV_TEST_REDIS_URL:-redis://127.0.0.1:6379/}"
export FEDIKV_TEST_REDIS_CLUSTER_URL="${FEDIKV_TEST_REDIS_CLUSTER_URL:-redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002}"
export FEDIKV_TEST_DENOKV_URL="${FEDIKV_TEST_DENOKV_URL:-denokv+http://127.0.0.1:${FEDIKV_DENOKV_PORT:-4512}?token=${FEDIKV_DENOKV_TOKEN:-fedikv-test-token}}"
export FEDIKV_TEST_REQUIRE_SERVERS=1

echo "test.sh: cargo test --workspace --all-features" >&2
cargo test --workspace --all-features

# After the cargo tests, which build target/debug/fedikv: the C-client
# script's test runs it against the servers.
echo "test.sh: scripts/test_bench_table.py, scripts/test_scale_table.py, scripts/test_bench_c_clients.py" >&2
python3 scripts/test_bench_table.py
python3 scripts/test_scale_table.py
FEDIKV_BIN="${CARGO_TARGET_DIR:-target}/debug/fedikv" python3 scripts/test_bench_c_clients.py

echo "test.sh: fuzz targets, ${FEDIKV_FUZZ_SECONDS:-30}s each" >&2
scripts/fuzz.sh "${FEDIKV_FUZZ_SECONDS:-30}"
