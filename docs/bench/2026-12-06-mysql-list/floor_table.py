#!/usr/bin/env python3
"""Writes SQL that fills a throwaway table `mlist_floor` in the bench's
shape at list time: 20000 documents, 500 warm-up keys, and the 1000 listed
keys under ["_fedify","bench-list"], each value the bench's 1 KiB document."""
import json, sys
PAD = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
def doc(i):
    id_ = f"https://example.com/users/{i}"
    v = {"contextUrl": None, "document": {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "followers": f"{id_}/followers", "following": f"{id_}/following", "id": id_,
        "inbox": f"{id_}/inbox", "name": f"User {i}", "outbox": f"{id_}/outbox",
        "preferredUsername": f"user{i}",
        "publicKey": {"id": f"{id_}#main-key", "owner": id_,
            "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 180 + "\n-----END PUBLIC KEY-----\n"},
        "summary": "", "type": "Person"}, "documentUrl": id_}
    c = lambda x: json.dumps(x, separators=(",", ":"), ensure_ascii=False)
    base = len(c(v)); pad = PAD * 8
    v["document"]["summary"] = pad[:min(max(1024 - base, 0), len(pad))]
    return c(v)
def q(s): return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"
def key(*parts): return json.dumps(list(parts), separators=(",", ":"))
t = sys.argv[1] if len(sys.argv) > 1 else "mlist_floor"
print(f"DROP TABLE IF EXISTS `{t}`;")
print(f"CREATE TABLE `{t}` (`key` VARCHAR(768) NOT NULL, `value` JSON NOT NULL, `expires` DATETIME(6) NULL DEFAULT NULL, PRIMARY KEY (`key`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;")
print(f"CREATE INDEX `idx_{t}_expires` ON `{t}` (`expires`);")
rows = [(key("_fedify", "remoteDocument", f"https://example.com/users/{i}"), doc(i)) for i in range(20000)]
rows += [(key("_fedify", "bench-warmup", f"https://example.com/users/{i}"), doc(i)) for i in range(500)]
rows += [(key("_fedify", "bench-list", f"https://example.com/notes/{i}"), doc(i)) for i in range(1000)]
for k in range(0, len(rows), 500):
    print(f"INSERT INTO `{t}` (`key`,`value`) VALUES " + ",".join(f"({q(a)},{q(b)})" for a, b in rows[k:k+500]) + ";")
