#!/usr/bin/env python3
"""Tests of scripts/bench_table.py on a small fixed input (no timing).

    python3 scripts/test_bench_table.py     (run by scripts/test.sh)
"""

import json
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_table  # noqa: E402


def line(backend, impl, op, ops_per_sec, n=100):
    return {"backend": backend, "impl": impl, "op": op, "ops_per_sec": ops_per_sec, "n": n}


# Three rounds of sqlite set (fedikv, Fedify, raw), one of memory get_hit
# (fedikv only), two of redis get_hit (fedikv, one-connection floor, C
# client), a capped-to-nothing phase, and a failed store.
ROUNDS = [
    [
        line("sqlite", "fedikv", "set", 300.0),
        line("sqlite", "raw", "set", 400.0),
        line("sqlite", "fedify", "set", 100.0),
        line("memory", "fedikv", "get_hit", 50_000.0),
        line("redis", "fedikv", "get_hit", 9_000.0),
        line("redis", "raw-1conn", "get_hit", 10_000.0),
        line("redis", "c-client", "get_hit", 12_000.0),
    ],
    [
        line("sqlite", "fedikv", "set", 100.0),
        line("sqlite", "raw", "set", 600.0),
        line("sqlite", "fedify", "set", 150.0),
        line("sqlite", "fedikv", "list", 0.0, n=0),
        line("redis", "fedikv", "get_hit", 11_000.0),
        line("redis", "raw-1conn", "get_hit", 12_000.0),
        line("redis", "c-client", "get_hit", 8_000.0),
    ],
    [
        line("sqlite", "fedikv", "set", 200.0),
        line("sqlite", "raw", "set", 500.0),
        line("sqlite", "fedify", "set", 50.0),
        {"backend": "redis", "impl": "fedify", "op": "_error", "phase": "open", "error": "refused"},
    ],
]


class BenchTableTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.files = []
        for i, lines in enumerate(ROUNDS):
            path = Path(self.dir.name) / f"round-{i}.jsonl"
            path.write_text("".join(json.dumps(l) + "\n" for l in lines), encoding="utf-8")
            self.files.append(path)
        measured, self.errors = bench_table.read_lines(self.files)
        self.rows = bench_table.rows_of(measured)

    def tearDown(self):
        self.dir.cleanup()

    def test_medians_per_backend_op_and_side(self):
        by_key = {(r.backend, r.op): r for r in self.rows}
        self.assertEqual(
            list(by_key), [("memory", "get_hit"), ("sqlite", "set"), ("redis", "get_hit")]
        )
        sqlite = by_key[("sqlite", "set")]
        self.assertEqual(sqlite.medians, {"fedikv": 200.0, "raw": 500.0, "fedify": 100.0})
        self.assertEqual(sqlite.rounds, {"fedikv": 3, "raw": 3, "fedify": 3})
        self.assertAlmostEqual(sqlite.ratio("fedify"), 2.0)
        self.assertAlmostEqual(sqlite.ratio("raw"), 0.4)
        self.assertIsNone(by_key[("memory", "get_hit")].ratio("fedify"))
        redis = by_key[("redis", "get_hit")]
        self.assertEqual(
            redis.medians, {"fedikv": 10_000.0, "raw-1conn": 11_000.0, "c-client": 10_000.0}
        )
        self.assertAlmostEqual(redis.ratio("raw-1conn"), 10 / 11)
        self.assertAlmostEqual(redis.ratio("c-client"), 1.0)
        self.assertIsNone(redis.ratio("raw"))

    def test_markdown_table(self):
        text = bench_table.markdown(self.rows, self.errors)
        lines = text.splitlines()
        self.assertEqual(
            lines[0],
            "| backend | op | fedikv ops/s | Fedify ops/s | raw driver ops/s | raw, 1 conn ops/s "
            "| C client ops/s | fedikv ÷ Fedify | fedikv ÷ raw driver | fedikv ÷ raw, 1 conn "
            "| fedikv ÷ C client |",
        )
        self.assertEqual(lines[1].count("---:"), 9)
        self.assertEqual(lines[2], "| memory | get_hit | 50,000 | — | — | — | — | — | — | — | — |")
        self.assertEqual(
            lines[3], "| sqlite | set | 200 | 100 | 500 | — | — | 2.00× | 0.40× | — | — |"
        )
        self.assertEqual(
            lines[4],
            "| redis | get_hit | 10,000 | — | — | 11,000 | 10,000 | — | — | 0.91× | 1.00× |",
        )
        self.assertIn("Medians of 1 / 2 / 3 round(s)", text)
        self.assertIn("- error: redis (fedify) in phase open: refused", text)

    def test_svg_has_one_bar_per_measured_side_on_a_log_axis(self):
        root = ElementTree.fromstring(bench_table.svg(self.rows))
        ns = "{http://www.w3.org/2000/svg}"
        bars = [r for r in root.iter(f"{ns}rect") if r.get("class")]
        self.assertEqual(
            sorted(b.get("class") for b in bars),
            ["c-client", "fedify", "fedikv", "fedikv", "fedikv", "raw", "raw-1conn"],
        )
        width = {b.find(f"{ns}title").text: float(b.get("width")) for b in bars}
        # Log scale over the medians' decades, 100 to 100,000: three decades
        # over 620 px; a bar at the axis' start is drawn 1 px wide.
        step = 620 / 3
        self.assertEqual(width["sqlite set Fedify: 100 ops/s"], 1.0)
        self.assertAlmostEqual(width["sqlite set fedikv: 200 ops/s"], step * 0.30103, places=0)
        self.assertAlmostEqual(width["sqlite set raw driver: 500 ops/s"], step * 0.69897, places=0)
        self.assertAlmostEqual(width["memory get_hit fedikv: 50,000 ops/s"], step * 2.69897, places=0)


if __name__ == "__main__":
    unittest.main()
