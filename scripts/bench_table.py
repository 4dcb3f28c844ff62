#!/usr/bin/env python3
"""Tables and charts the JSON Lines of `fedikv bench` and `interop/bench.mjs`.

    scripts/bench_table.py [--svg FILE] RESULTS.jsonl...

Prints a Markdown table on stdout: per (backend, operation), the median
ops/s over the files' rounds of fedikv (`impl` "fedikv"), Fedify (`impl`
"fedify"), the raw driver with the store's connections (`impl` "raw") and on
one held connection (`impl` "raw-1conn"), and the server's own C client on
one connection (`impl` "c-client", scripts/bench_c_clients.py), and fedikv ÷
each (above 1: fedikv is faster). With --svg, also writes a chart:
one group of horizontal bars per row, on a logarithmic ops/s axis.
`_error` lines are listed under the table. Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

SIDES = ("fedikv", "fedify", "raw", "raw-1conn", "c-client")
SIDE_TITLES = {
    "fedikv": "fedikv",
    "fedify": "Fedify",
    "raw": "raw driver",
    "raw-1conn": "raw, 1 conn",
    "c-client": "C client",
}
SIDE_COLOURS = {
    "fedikv": "#2b6cb0",
    "fedify": "#dd6b20",
    "raw": "#718096",
    "raw-1conn": "#a0aec0",
    "c-client": "#38a169",
}
# The sides fedikv is divided by, in the table's order.
OTHERS = SIDES[1:]
BACKEND_ORDER = ("memory", "sqlite", "postgres", "postgres-unlogged", "mysql", "redis")
OP_ORDER = ("set", "get_hit", "get_miss", "get_hit_c64", "cas", "list", "set_ttl", "delete")


@dataclass
class Row:
    """The medians of one (backend, operation): ops/s per side, and rounds."""

    backend: str
    op: str
    medians: dict[str, float]
    rounds: dict[str, int]

    def ratio(self, other: str) -> float | None:
        """fedikv ÷ `other`, when both were measured."""
        mine, theirs = self.medians.get("fedikv"), self.medians.get(other)
        if mine is None or not theirs:
            return None
        return mine / theirs


def side_of(line: dict) -> str | None:
    """The side a result line belongs to, or None for an unknown `impl`."""
    side = line.get("impl")
    return side if side in SIDES else None


def read_lines(paths: list[Path]) -> tuple[list[dict], list[dict]]:
    """The measurement lines and the `_error` lines of the files."""
    measured, errors = [], []
    for path in paths:
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError as error:
                raise SystemExit(f"{path}:{number}: not JSON: {error}") from error
            (errors if line.get("op") == "_error" else measured).append(line)
    return measured, errors


def sort_key(backend: str, op: str) -> tuple:
    """Known backends and operations in workload order, then the others."""
    base = backend.split("#")[0]
    b = BACKEND_ORDER.index(base) if base in BACKEND_ORDER else len(BACKEND_ORDER)
    o = OP_ORDER.index(op) if op in OP_ORDER else len(OP_ORDER)
    return (b, base, backend, o, op)


def rows_of(lines: list[dict]) -> list[Row]:
    """Median ops/s per (backend, op, side), one Row per (backend, op)."""
    samples: dict[tuple[str, str], dict[str, list[float]]] = {}
    for line in lines:
        side = side_of(line)
        if side is None or not line.get("n"):
            continue
        per_side = samples.setdefault((line["backend"], line["op"]), {})
        per_side.setdefault(side, []).append(float(line["ops_per_sec"]))
    rows = [
        Row(
            backend,
            op,
            {side: statistics.median(values) for side, values in per_side.items()},
            {side: len(values) for side, values in per_side.items()},
        )
        for (backend, op), per_side in samples.items()
    ]
    return sorted(rows, key=lambda row: sort_key(row.backend, row.op))


def number(value: float | None) -> str:
    """Ops/s for a table cell: whole numbers, one decimal below 100."""
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def factor(value: float | None) -> str:
    """A ratio for a table cell, e.g. 2.31×."""
    return "—" if value is None else f"{value:.2f}×"


def markdown(rows: list[Row], errors: list[dict]) -> str:
    """The Markdown table, and the errors below it."""
    titles = [SIDE_TITLES[side] for side in SIDES]
    out = [
        "| backend | op | "
        + " | ".join(f"{title} ops/s" for title in titles)
        + " | "
        + " | ".join(f"fedikv ÷ {SIDE_TITLES[side]}" for side in OTHERS)
        + " |",
        "| --- | --- |" + " ---: |" * (len(SIDES) + len(OTHERS)),
    ]
    for row in rows:
        cells = [number(row.medians.get(side)) for side in SIDES]
        cells += [factor(row.ratio(side)) for side in OTHERS]
        out.append(f"| {row.backend} | {row.op} | " + " | ".join(cells) + " |")
    rounds = sorted({n for row in rows for n in row.rounds.values()})
    out.append("")
    out.append(
        "Medians of "
        + (" / ".join(str(n) for n in rounds) or "0")
        + " round(s); ratios above 1× mean fedikv is faster."
    )
    for error in errors:
        out.append(
            f"- error: {error.get('backend')} ({error.get('impl')}) in phase "
            f"{error.get('phase')}: {error.get('error')}"
        )
    return "\n".join(out) + "\n"


def svg(rows: list[Row]) -> str:
    """The chart: per row, one bar per measured side on a log10 ops/s axis."""
    values = [v for row in rows for v in row.medians.values() if v > 0]
    low = 10 ** math.floor(math.log10(min(values))) if values else 1
    high = 10 ** math.ceil(math.log10(max(values))) if values else 10
    if high <= low:
        high = low * 10
    label_w, plot_w, bar_h, gap, top, right = 230, 620, 7, 10, 64, 90
    group_h = bar_h * len(SIDES) + gap
    height = top + group_h * len(rows) + 40
    width = label_w + plot_w + right

    def x(value: float) -> float:
        return label_w + plot_w * (math.log10(value) - math.log10(low)) / (
            math.log10(high) - math.log10(low)
        )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{label_w}" y="18" font-size="13" font-weight="bold">'
        "ops/s (median, log scale; longer is faster)</text>",
    ]
    for i, side in enumerate(SIDES):
        lx = label_w + i * 120
        parts.append(
            f'<rect x="{lx}" y="30" width="12" height="12" fill="{SIDE_COLOURS[side]}"/>'
            f'<text x="{lx + 16}" y="40">{escape(SIDE_TITLES[side])}</text>'
        )
    decade = low
    while decade <= high:
        gx = x(decade)
        parts.append(
            f'<line x1="{gx:.1f}" y1="{top - 6}" x2="{gx:.1f}" y2="{height - 30}" '
            'stroke="#e2e8f0"/>'
            f'<text x="{gx:.1f}" y="{height - 16}" text-anchor="middle">{number(decade)}</text>'
        )
        decade *= 10
    for index, row in enumerate(rows):
        y0 = top + index * group_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y0 + bar_h * len(SIDES) / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(row.backend)} {escape(row.op)}</text>'
        )
        for j, side in enumerate(SIDES):
            value = row.medians.get(side)
            if not value or value <= 0:
                continue
            y = y0 + j * bar_h
            w = max(x(value) - label_w, 1.0)
            parts.append(
                f'<rect class="{side}" x="{label_w}" y="{y}" width="{w:.1f}" '
                f'height="{bar_h - 1}" fill="{SIDE_COLOURS[side]}">'
                f"<title>{escape(row.backend)} {escape(row.op)} {SIDE_TITLES[side]}: "
                f"{number(value)} ops/s</title></rect>"
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 1}" font-size="9">'
                f"{number(value)}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="JSON Lines results")
    parser.add_argument("--svg", type=Path, help="also write the chart to this file")
    args = parser.parse_args(argv)
    measured, errors = read_lines(args.files)
    rows = rows_of(measured)
    sys.stdout.write(markdown(rows, errors))
    if args.svg:
        args.svg.write_text(svg(rows), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
