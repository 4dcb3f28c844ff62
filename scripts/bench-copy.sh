#!/usr/bin/env bash
# Measures `fedikv copy` of ROWS entries (default 1,000,000) from an SQLite
# file to PostgreSQL, the migration docs/migrating.md describes.
#
#   scripts/bench-copy.sh [ROWS] [POSTGRES_URL]
#
# The source file is written in Fedify's SQLite layout (keys of Fedify's
# remote-document cache, 1 KiB JSON values, every other entry with a 1 h TTL)
# with Python's sqlite3 module, then copied with the release binary into the
# table fedikv_copy_bench, which is dropped before and after. Prints the
# copy's JSON summary line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rows="${1:-1000000}"
pg="${2:-postgres://postgres@127.0.0.1:5432/test}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p fedikv-cli
python3 - "$work/source.sqlite3" "$rows" <<'PY'
import json, sqlite3, sys, time
path, rows = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE fedify_kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER)")
db.execute('CREATE INDEX "idx_fedify_kv_expires" ON fedify_kv (expires)')
now = int(time.time() * 1000)
def row(i):
    url = f"https://example.com/users/{i}"
    doc = {"contextUrl": None, "documentUrl": url,
           "document": {"@context": "https://www.w3.org/ns/activitystreams", "id": url, "type": "Person"}}
    text = json.dumps(doc, separators=(",", ":"))
    doc["document"]["summary"] = "x" * (1024 - len(text) - len(',"summary":""'))
    key = json.dumps(["_fedify", "remoteDocument", url], separators=(",", ":"))
    return (key, json.dumps(doc, separators=(",", ":")), now, now + 3_600_000 if i % 2 == 0 else None)
db.executemany("INSERT INTO fedify_kv VALUES (?, ?, ?, ?)", (row(i) for i in range(rows)))
db.commit()
PY

target="${pg}$([[ "$pg" == *\?* ]] && echo '&' || echo '?')table=fedikv_copy_bench&sweep=off"
psql "$pg" -qc 'DROP TABLE IF EXISTS fedikv_copy_bench' >/dev/null
target/release/fedikv copy --from "sqlite:$work/source.sqlite3" --to "$target"
psql "$pg" -qtAc 'SELECT count(*) FROM fedikv_copy_bench' | sed 's/^/rows in the target: /' >&2
psql "$pg" -qc 'DROP TABLE fedikv_copy_bench' >/dev/null
