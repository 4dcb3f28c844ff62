// Runs a batch of KvStore operations through one of Fedify's published
// store packages, for fedikv's interop tests (crates/fedikv/tests/it/*/interop.rs).
//
// Input (stdin, one JSON object): a target as interop/stores.mjs describes
// it, with the operations to run:
//   { "backend": "sqlite", "path": FILE, "table": NAME, "ops": [...] }
// Operations (a missing "value" / "expected" / "new" is JavaScript `undefined`,
// so `null` stays a value; "value_json" / "expected_json" / "new_json" give
// the same as JSON text instead, parsed here so its object key order is kept):
//   { "op": "set",    "key": [..], "value": V, "ttl_ms"?: N }   -> { "ok": true }
//   { "op": "get",    "key": [..] }                             -> { "value"?: V }
//   { "op": "delete", "key": [..] }                             -> { "ok": true }
//   { "op": "cas",    "key": [..], "expected"?: V, "new"?: V, "ttl_ms"?: N }
//                                                               -> { "swapped": B }
//   { "op": "list",   "prefix"?: [..] }                         -> { "entries": [{ "key", "value" }] }
//   { "op": "increment", "key": [..], "times": N, "max_attempts": M }
//       N read-modify-write increments of the number at key (absent = 0)
//       through get + cas retries, at most M cas calls  -> { "attempts": A }
//   { "op": "pragma", "name": P }  (sqlite only)                -> { "value": V }
// Output (stdout, one JSON object): { "results": [one per operation] }. An
// operation the store rejects or lacks gives { "error": MESSAGE } and the
// batch goes on; bad input exits with status 2.
//
// Needs what interop/stores.mjs needs (scripts/interop-setup.sh).

import { readFileSync } from "node:fs";

import { openStore } from "./stores.mjs";

// Drivers may log (postgres.js prints server notices): keep stdout for results.
console.log = console.error;
console.info = console.error;

const { Temporal } = await import("@js-temporal/polyfill");

function fail(message) {
  process.stderr.write(`fedify.mjs: ${message}\n`);
  process.exit(2);
}

/** The operation's field `name`, from `name` or from `name + "_json"` text. */
function field(op, name) {
  const text = op[`${name}_json`];
  return text === undefined ? op[name] : JSON.parse(text);
}

function options(op) {
  return op.ttl_ms == null
    ? undefined
    : { ttl: Temporal.Duration.from({ milliseconds: op.ttl_ms }) };
}

async function run(opened, op) {
  const { store } = opened;
  switch (op.op) {
    case "set":
      await store.set(op.key, field(op, "value"), options(op));
      return { ok: true };
    case "get": {
      const value = await store.get(op.key);
      return value === undefined ? {} : { value };
    }
    case "delete":
      await store.delete(op.key);
      return { ok: true };
    case "cas":
      if (typeof store.cas !== "function") {
        return { error: "this Fedify store has no cas()" };
      }
      return {
        swapped: await store.cas(
          op.key,
          field(op, "expected"),
          field(op, "new"),
          options(op),
        ),
      };
    case "list": {
      if (typeof store.list !== "function") {
        return { error: "this Fedify store has no list()" };
      }
      const entries = [];
      for await (const { key, value } of store.list(op.prefix)) {
        entries.push({ key, value });
      }
      return { entries };
    }
    case "increment": {
      if (typeof store.cas !== "function") {
        return { error: "this Fedify store has no cas()" };
      }
      let attempts = 0;
      for (let i = 0; i < op.times; i++) {
        for (;;) {
          if (++attempts > op.max_attempts) {
            throw new Error(`no increment after ${op.max_attempts} cas attempts`);
          }
          const current = await store.get(op.key);
          if (await store.cas(op.key, current, (current ?? 0) + 1)) break;
        }
      }
      return { attempts };
    }
    case "pragma":
      if (opened.db == null) return { error: "pragma is for sqlite only" };
      return {
        value: Object.values(opened.db.prepare(`PRAGMA ${op.name}`).get())[0],
      };
    default:
      fail(`unknown operation ${JSON.stringify(op.op)}`);
  }
}

let request;
try {
  request = JSON.parse(readFileSync(0, "utf8"));
} catch (error) {
  fail(`stdin is not one JSON object: ${error.message}`);
}
if (!Array.isArray(request.ops)) fail(`"ops" must be an array`);

let opened;
try {
  opened = await openStore(request);
} catch (error) {
  fail(error.message);
}
const results = [];
try {
  for (const op of request.ops) {
    try {
      results.push(await run(opened, op));
    } catch (error) {
      results.push({ error: String(error?.message ?? error) });
    }
  }
} finally {
  await opened.close();
}
process.stdout.write(JSON.stringify({ results }));
