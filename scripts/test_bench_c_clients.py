#!/usr/bin/env python3
"""Tests of scripts/bench_c_clients.py's parsing of the clients' outputs and
of the scripts and literals it gives them (fixed inputs, no timing), and one
short run of the whole script against the servers of FEDIKV_TEST_POSTGRES_URL,
FEDIKV_TEST_MYSQL_URL and FEDIKV_TEST_REDIS_URL with the fedikv binary
FEDIKV_BIN (its checks read fedikv's own statements and keys, so a change of
those that the script no longer understands fails here, not in a sitting).
Without those variables the run is skipped, saying so, unless
FEDIKV_TEST_REQUIRE_SERVERS=1, which makes it fail.

    FEDIKV_BIN=target/debug/fedikv python3 scripts/test_bench_c_clients.py     (run by scripts/test.sh)
"""

import json
import os
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_c_clients  # noqa: E402

PGBENCH = """transaction type: /tmp/x.sql
scaling factor: 1
query mode: prepared
number of clients: 1
number of threads: 1
maximum number of tries: 1
number of transactions per client: 2000
number of transactions actually processed: 2000/2000
number of failed transactions: 0 (0.000%)
latency average = 0.150 ms
initial connection time = 3.097 ms
tps = 6686.012345 (without initial connection time)
"""

SLAP = """Benchmark
\tAverage number of seconds to run all queries: 0.193 seconds
\tMinimum number of seconds to run all queries: 0.193 seconds
\tMaximum number of seconds to run all queries: 0.193 seconds
\tNumber of clients running queries: 1
\tAverage number of queries per client: 2000
"""

REDIS = """"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"GET k","14492.75","0.068","0.016","0.023","0.031","2.327","19.983"
"""


class ParseTest(unittest.TestCase):
    def test_pgbench(self):
        self.assertEqual(
            bench_c_clients.parse_pgbench(PGBENCH),
            {"ops_per_sec": 6686.012345, "n": 2000, "errors": 0, "mean_us": 150.0},
        )
        with self.assertRaises(SystemExit):
            bench_c_clients.parse_pgbench("pgbench: error: connection refused\n")

    def test_slap(self):
        measured = bench_c_clients.parse_slap(SLAP, 2000)
        self.assertAlmostEqual(measured["ops_per_sec"], 2000 / 0.193)
        self.assertAlmostEqual(measured["mean_us"], 96.5)
        with self.assertRaises(SystemExit):
            bench_c_clients.parse_slap(SLAP.replace("0.193", "0.000"), 2000)

    def test_redis_benchmark(self):
        measured = bench_c_clients.parse_redis_benchmark(REDIS, 2000)
        self.assertEqual(measured["ops_per_sec"], 14492.75)
        self.assertAlmostEqual(measured["p50_us"], 23.0)
        self.assertAlmostEqual(measured["max_us"], 19983.0)
        with self.assertRaises(SystemExit):
            bench_c_clients.parse_redis_benchmark("", 2000)


class InputTest(unittest.TestCase):
    def test_pgbench_script_numbers_variables_from_the_highest(self):
        self.assertEqual(
            bench_c_clients.pgbench_script("SELECT $1, $12, $2", [str(i) for i in range(12)]),
            "SELECT :p1, :p12, :p2;\n",
        )

    def test_mysql_literals_escape_quotes_and_backslashes(self):
        # a'b\c → 'a\'b\\c'
        self.assertEqual(bench_c_clients.sql_literal("a'b\\c"), "'a\\'b\\\\c'")

    def test_url_options(self):
        self.assertEqual(bench_c_clients.with_option("redis://h/15", "prefix=p::"), "redis://h/15?prefix=p::")
        self.assertEqual(bench_c_clients.with_option("pg://h/db?a=1", "b=2"), "pg://h/db?a=1&b=2")


class AgainstServersTest(unittest.TestCase):
    def test_every_client_reads_fedikvs_data(self):
        needed = ["FEDIKV_BIN", "FEDIKV_TEST_POSTGRES_URL", "FEDIKV_TEST_MYSQL_URL", "FEDIKV_TEST_REDIS_URL"]
        missing = [name for name in needed if not os.environ.get(name)]
        if missing:
            if os.environ.get("FEDIKV_TEST_REQUIRE_SERVERS") == "1":
                self.fail(f"FEDIKV_TEST_REQUIRE_SERVERS=1 but {', '.join(missing)} unset")
            self.skipTest(f"{', '.join(missing)} unset: no run against the servers")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "c.jsonl"
            bench_c_clients.main([
                "--fedikv", os.environ["FEDIKV_BIN"], "-n", "200", "--out", str(out),
                "--postgres", os.environ["FEDIKV_TEST_POSTGRES_URL"],
                "--mysql", os.environ["FEDIKV_TEST_MYSQL_URL"],
                "--redis", os.environ["FEDIKV_TEST_REDIS_URL"],
            ])
            lines = [json.loads(text) for text in out.read_text().splitlines()]
        self.assertEqual(
            sorted((line["backend"], line["op"]) for line in lines),
            sorted([("postgres", "get_hit"), ("postgres", "list"),
                    ("postgres-unlogged", "get_hit"), ("postgres-unlogged", "list"),
                    ("mysql", "get_hit"), ("redis", "get_hit")]),
        )
        for line in lines:
            self.assertEqual(line["impl"], "c-client")
            self.assertGreater(line["ops_per_sec"], 0, line)


if __name__ == "__main__":
    unittest.main()
