#!/usr/bin/env python3
"""Tests of scripts/scale_table.py on a small fixed input (no timing).

    python3 scripts/test_scale_table.py     (run by scripts/test.sh)
"""

import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale_table  # noqa: E402


def line(backend, op, ops_per_sec, **extra):
    return {"backend": backend, "op": op, "ops_per_sec": ops_per_sec, **extra}


LINES = [
    line("sqlite", "set@empty", 1000.0),
    line("sqlite", "get@empty", 5000.0),
    line("sqlite", "populate@1M-half-expired", 40000.0),
    line("sqlite", "set@1M-half-expired", 850.0),   # -15 %: within
    line("sqlite", "get@1M-half-expired", 3000.0),  # -40 %: not within
    line("mysql", "set@empty", 100.0),
    line("mysql", "set@1M-half-expired", 120.0),    # faster: within
    line("mysql", "cas@empty", 100.0),
    line("mysql", "cas@1M-half-expired", 1.0, errors=3),  # failed: left out
    line("mysql", "list", 7.0),                     # not a scenario op
]


class ScaleTableTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        path = Path(self.dir.name) / "scale.jsonl"
        path.write_text("".join(json.dumps(entry) + "\n" for entry in LINES))
        self.text = scale_table.table(scale_table.load([str(path)]))

    def tearDown(self):
        self.dir.cleanup()

    def row(self, backend, op):
        rows = [r for r in self.text.splitlines() if r.startswith(f"| {backend} | {op} ")]
        self.assertEqual(len(rows), 1, f"one row for {backend} {op} in:\n{self.text}")
        return [cell.strip() for cell in rows[0].strip("|").split("|")]

    def test_change_and_verdict(self):
        self.assertEqual(self.row("sqlite", "set")[2:], ["1,000/s", "850/s", "-15%", "✓"])
        self.assertEqual(self.row("sqlite", "get")[2:], ["5,000/s", "3,000/s", "-40%", "✗"])
        self.assertEqual(self.row("mysql", "set")[2:], ["100/s", "120/s", "+20%", "✓"])

    def test_populate_rate_is_shown(self):
        self.assertEqual(self.row("sqlite", "populate")[3], "40,000/s")

    def test_failed_phases_and_plain_ops_are_left_out(self):
        self.assertNotIn("| mysql | cas", self.text)
        self.assertNotIn("| mysql | list", self.text)


if __name__ == "__main__":
    unittest.main()
