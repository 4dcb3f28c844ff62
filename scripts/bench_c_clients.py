#!/usr/bin/env python3
"""The servers' own C clients on fedikv's reads, one connection, as JSON Lines.

    scripts/bench_c_clients.py [--fedikv BIN] [-n N] [--out FILE]
        [--postgres URL] [--mysql URL] [--redis URL]

For each server given, `fedikv bench --c-client-fixture fill` writes the
workload's documents (and list keys) through fedikv into a table or prefix of
this run and prints the statements or key fedikv reads them with; then the
server's own client runs that read N times on one connection:

- PostgreSQL (logged and unlogged table): `pgbench -n -M prepared -c 1 -t N`
  on a script of fedikv's get statement (document 0), and `-t N/100` on
  fedikv's page query of the 1000 listed keys in one page (op `list`);
- MySQL/MariaDB: `mariadb-slap` (or `mysqlslap`) with one connection running
  fedikv's get statement (document 0) as text (the slap tools have no
  prepared statements);
- Redis: `redis-benchmark -c 1 -n N GET <key>` on the Redis key fedikv's
  layout gives document 0 (1 KiB value).

Then `--c-client-fixture wipe` removes the data. Each result is one line in
the shape of `fedikv bench`'s (`impl` "c-client", the command in `driver`);
latency fields the client does not report are null. scripts/bench_table.py
turns them into the "fedikv ÷ C client" column. Python 3.11 standard library
only; needs the clients on PATH.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

VALUE_BYTES = 1024
# A listing is much slower than a read: this fraction of N listings.
LIST_FRACTION = 100


def fedikv_fixture(fedikv: str, action: str, store: str, n: int) -> list[dict]:
    """Runs `fedikv bench --c-client-fixture ACTION` on one store."""
    done = subprocess.run(
        [fedikv, "bench", "-n", str(n), "--c-client-fixture", action, "--store", store],
        check=True,
        capture_output=True,
        text=True,
    )
    return [json.loads(text) for text in done.stdout.splitlines() if text.strip()]


def with_option(url: str, option: str) -> str:
    """`url` with query option `option` ("name=value") added."""
    return url + ("&" if "?" in url else "?") + option


def run(command: list[str], env: dict | None = None) -> str:
    """Runs a client; its standard output. A failure ends the script, saying why."""
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        shown = " ".join(command[:1])
        raise SystemExit(f"bench_c_clients: {shown} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def parse_pgbench(output: str) -> dict:
    """Throughput, transactions and mean latency of `pgbench` output."""
    tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", output, re.M)
    done = re.search(r"^number of transactions actually processed: (\d+)", output, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", output, re.M)
    latency = re.search(r"^latency average = ([0-9.]+) ms", output, re.M)
    if not (tps and done):
        raise SystemExit(f"bench_c_clients: unexpected pgbench output:\n{output}")
    return {
        "ops_per_sec": float(tps.group(1)),
        "n": int(done.group(1)),
        "errors": int(failed.group(1)) if failed else 0,
        "mean_us": float(latency.group(1)) * 1000 if latency else None,
    }


def parse_slap(output: str, queries: int) -> dict:
    """Throughput of `mariadb-slap`/`mysqlslap` output for `queries` queries."""
    seconds = re.search(r"Average number of seconds to run all queries: ([0-9.]+) seconds", output)
    if not seconds or float(seconds.group(1)) <= 0:
        raise SystemExit(f"bench_c_clients: unexpected slap output:\n{output}")
    elapsed = float(seconds.group(1))
    return {
        "ops_per_sec": queries / elapsed,
        "n": queries,
        "errors": 0,
        "mean_us": elapsed / queries * 1e6,
    }


def parse_redis_benchmark(output: str, requests: int) -> dict:
    """Throughput and latencies of `redis-benchmark --csv` output."""
    rows = list(csv.DictReader(io.StringIO(output)))
    if len(rows) != 1 or "rps" not in rows[0]:
        raise SystemExit(f"bench_c_clients: unexpected redis-benchmark output:\n{output}")
    row = rows[0]

    def us(field: str) -> float | None:
        return float(row[field]) * 1000 if row.get(field) else None

    return {
        "ops_per_sec": float(row["rps"]),
        "n": requests,
        "errors": 0,
        "p50_us": us("p50_latency_ms"),
        "p99_us": us("p99_latency_ms"),
        "mean_us": us("avg_latency_ms"),
        "max_us": us("max_latency_ms"),
    }


def line(base: dict, op: str, driver: str, started: float, measured: dict) -> dict:
    """A result line in the shape of `fedikv bench`'s."""
    out = dict(base)
    out.update(
        {
            "driver": driver,
            "op": op,
            "concurrency": 1,
            "elapsed_s": round(time.monotonic() - started, 3),
            "ops_per_sec": round(measured["ops_per_sec"], 1),
            "p50_us": measured.get("p50_us"),
            "p90_us": None,
            "p99_us": measured.get("p99_us"),
            "mean_us": measured.get("mean_us"),
            "max_us": measured.get("max_us"),
            "n": measured["n"],
            "errors": measured["errors"],
            "capped": False,
        }
    )
    return out


def base_of(fixture: dict, tool: str) -> dict:
    """The fields of every line of one store's client run."""
    return {
        "suite": "fedify-kv-bench",
        "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "host": socket.gethostname(),
        "runtime": tool,
        "backend": fixture["backend"],
        "impl": "c-client",
        "server": fixture["server"],
        "value_bytes": VALUE_BYTES,
        "harness": "the server's own C client, one connection, sequential",
    }


def pgbench_script(statement: str, params: list[str]) -> str:
    """A pgbench script running `statement` with `$i` as pgbench variables."""
    for i in range(len(params), 0, -1):
        statement = statement.replace(f"${i}", f":p{i}")
    return statement + ";\n"


def postgres(url: str, fixture: dict, n: int) -> list[dict]:
    """pgbench on fedikv's get and page statements."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    connect = [
        "-h", parts.hostname or "127.0.0.1",
        "-p", str(parts.port or 5432),
        "-U", unquote(parts.username or "postgres"),
    ]
    database = parts.path.lstrip("/") or "postgres"
    check = ["psql", "-X", "-A", "-t", *connect, "-d", database, "-c",
             "SELECT count(*) FROM ("
             + fixture["get"]["statement"].replace("$1", "'" + fixture["get"]["params"][0].replace("'", "''") + "'")
             + ") AS hit"]
    if run(check, env).strip() != "1":
        raise SystemExit("bench_c_clients: fedikv's document 0 is not found by its get statement in PostgreSQL")
    lines = []
    for op, query, transactions in (
        ("get_hit", fixture["get"], n),
        ("list", fixture["list"], max(n // LIST_FRACTION, 1)),
    ):
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
            script.write(pgbench_script(query["statement"], query["params"]))
        try:
            variables = [f"-Dp{i}={value}" for i, value in enumerate(query["params"], 1)]
            command = ["pgbench", "-n", "-M", "prepared", "-c", "1", "-t", str(transactions),
                       "-f", script.name, *variables, *connect, database]
            started = time.monotonic()
            measured = parse_pgbench(run(command, env))
        finally:
            os.unlink(script.name)
        version = run(["pgbench", "--version"]).strip()
        result = line(base_of(fixture, version), op,
                      f"pgbench -n -M prepared -c 1 -t {transactions} -f <fedikv's {op} statement>",
                      started, measured)
        if op == "list":
            rows = query["rows"]
            result.update({"entries_per_call": rows,
                           "entries_per_sec": round(measured["ops_per_sec"] * rows),
                           "total_keys_in_store": fixture["n"] + rows})
        lines.append(result)
    return lines


def sql_literal(text: str) -> str:
    """A MySQL string literal of `text`."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def mysql(url: str, fixture: dict, n: int) -> list[dict]:
    """mariadb-slap (or mysqlslap) on fedikv's get statement."""
    tool = shutil.which("mariadb-slap") or shutil.which("mysqlslap")
    if not tool:
        raise SystemExit("bench_c_clients: neither mariadb-slap nor mysqlslap is on PATH")
    parts = urlsplit(url)
    statement = fixture["get"]["statement"]
    for param in fixture["get"]["params"]:
        statement = statement.replace("?", sql_literal(param), 1)
    env = dict(os.environ)
    if parts.password:
        env["MYSQL_PWD"] = unquote(parts.password)
    # The statement itself, its one value printed as is (-B -r: no table,
    # no escapes): its result column has no name to select it by.
    check = [shutil.which("mariadb") or "mysql", "-N", "-B", "-r", "-h", parts.hostname or "127.0.0.1",
             "-P", str(parts.port or 3306), "-u", unquote(parts.username or "root"),
             parts.path.lstrip("/") or "test", "-e", statement]
    rows = run(check, env).splitlines()
    if len(rows) != 1 or len(rows[0].encode()) != VALUE_BYTES:
        raise SystemExit("bench_c_clients: fedikv's get statement finds no document 0 in MySQL")
    command = [tool, "-h", parts.hostname or "127.0.0.1", "-P", str(parts.port or 3306),
               "-u", unquote(parts.username or "root"),
               f"--create-schema={parts.path.lstrip('/') or 'test'}",
               "--concurrency=1", "--iterations=1", f"--number-of-queries={n}",
               f"--query={statement}"]
    started = time.monotonic()
    measured = parse_slap(run(command, env), n)
    version = run([tool, "--version"]).strip().removeprefix(tool).strip()
    return [line(base_of(fixture, version), "get_hit",
                 f"{Path(tool).name} --concurrency=1 --number-of-queries={n} --query=<fedikv's get statement>",
                 started, measured)]


def redis(url: str, fixture: dict, n: int) -> list[dict]:
    """redis-benchmark on the Redis key of fedikv's document 0."""
    parts = urlsplit(url)
    command = ["redis-benchmark", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379),
               "-c", "1", "-n", str(n), "--dbnum", str(fixture["get"]["db"]), "--csv"]
    env = dict(os.environ)
    if parts.password:
        env["REDISCLI_AUTH"] = unquote(parts.password)
    check = ["redis-cli", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379),
             "-n", str(fixture["get"]["db"]), "STRLEN", fixture["get"]["key"]]
    if run(check, env).strip() != str(VALUE_BYTES):
        raise SystemExit("bench_c_clients: fedikv's key of document 0 holds no 1 KiB value in Redis")
    command += ["GET", fixture["get"]["key"]]
    started = time.monotonic()
    measured = parse_redis_benchmark(run(command, env), n)
    version = run(["redis-benchmark", "--version"]).strip()
    return [line(base_of(fixture, version), "get_hit",
                 f"redis-benchmark -c 1 -n {n} GET <fedikv's key of document 0>",
                 started, measured)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fedikv", default="target/release/fedikv", help="the fedikv binary")
    parser.add_argument("-n", type=int, default=20000, help="reads per client run")
    parser.add_argument("--out", type=Path, help="append the lines to FILE instead of printing them")
    parser.add_argument("--postgres", help="a PostgreSQL URL (runs a logged and an unlogged table)")
    parser.add_argument("--mysql", help="a MySQL/MariaDB URL")
    parser.add_argument("--redis", help="a Redis URL (database 15 unless it names one)")
    args = parser.parse_args(argv)
    table = f"table=fedikv_cclient_{os.getpid()}"
    stores = []
    if args.postgres:
        pg = with_option(args.postgres, "sslmode=disable")
        stores.append((postgres, args.postgres, with_option(pg, table)))
        stores.append((postgres, args.postgres, with_option(with_option(pg, "unlogged=true"), table)))
    if args.mysql:
        stores.append((mysql, args.mysql, with_option(args.mysql, table)))
    if args.redis:
        stores.append((redis, args.redis, with_option(args.redis, f"prefix=fedikv-cclient-{os.getpid()}::")))
    results = []
    for client, url, store in stores:
        (fixture,) = fedikv_fixture(args.fedikv, "fill", store, args.n)
        try:
            results += client(url, fixture, args.n)
        finally:
            fedikv_fixture(args.fedikv, "wipe", store, args.n)
    text = "".join(json.dumps(result) + "\n" for result in results)
    if args.out:
        with args.out.open("a", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
