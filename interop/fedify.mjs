// Runs a batch of KvStore operations through one of Fedify's published
// store packages, for fedikv's interop tests (crates/fedikv/tests/interop_*.rs).
//
// Input (stdin, one JSON object):
//   { "backend": "sqlite",   "path": FILE, "table": NAME, "package"?: P, "ops": [...] }
//     P: "@fedify/sqlite" (1.8.7, the default) or "@fedify/sqlite-2.0-dev"
//     (2.0.0-dev.279, the only published version with list())
//   { "backend": "postgres", "url": URL,   "table": NAME, "ops": [...] }
//   { "backend": "mysql",    "url": URL,   "table": NAME, "mariadb_cast_fix"?: B, "ops": [...] }
//   { "backend": "redis",    "url": URL,   "prefix": KEY_PREFIX, "ops": [...] }
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
// Needs Node >= 22 (node:sqlite); scripts/interop-setup.sh installs Node 24
// and the packages into interop/node_modules.

import { registerHooks } from "node:module";
import { readFileSync } from "node:fs";

// @fedify/sqlite 1.8.7 (the newest release) bundles a copy of
// @js-temporal/polyfill whose file also imports the bare specifier
// "@js-temporal/polyfill", which Node resolves to the bundled folder that has
// no package.json: the import fails. Resolve that one specifier from here
// instead, to the real @js-temporal/polyfill this folder depends on.
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (
      specifier === "@js-temporal/polyfill" &&
      context.parentURL?.includes("/@fedify/sqlite/dist/node_modules/")
    ) {
      return nextResolve(specifier, { ...context, parentURL: import.meta.url });
    }
    return nextResolve(specifier, context);
  },
});

// Drivers may log (postgres.js prints server notices): keep stdout for results.
console.log = console.error;
console.info = console.error;

const { Temporal } = await import("@js-temporal/polyfill");

function fail(message) {
  process.stderr.write(`fedify.mjs: ${message}\n`);
  process.exit(2);
}

const SQLITE_PACKAGES = ["@fedify/sqlite", "@fedify/sqlite-2.0-dev"];

/** Opens the Fedify store named by the request; returns it with a closer. */
async function openStore(request) {
  switch (request.backend) {
    case "sqlite": {
      const { DatabaseSync } = await import("node:sqlite");
      const name = request.package ?? "@fedify/sqlite";
      if (!SQLITE_PACKAGES.includes(name)) fail(`unknown package ${JSON.stringify(name)}`);
      const { SqliteKvStore } = await import(name);
      // A busy timeout, as any process sharing the file with fedikv's writer
      // needs (node:sqlite waits 0 ms by default).
      const db = new DatabaseSync(request.path, { timeout: 10_000 });
      const store = new SqliteKvStore(db, { tableName: request.table });
      return { store, db, close: async () => db.close() };
    }
    case "postgres": {
      const { default: postgres } = await import("postgres");
      const { PostgresKvStore } = await import("@fedify/postgres");
      const sql = postgres(request.url, { onnotice: () => {}, max: 2 });
      const store = new PostgresKvStore(sql, { tableName: request.table });
      return { store, close: () => sql.end() };
    }
    case "mysql": {
      const { createPool } = await import("mysql2/promise");
      const { MysqlKvStore } = await import("@fedify/mysql");
      const pool = createPool(request.url);
      const store = new MysqlKvStore(
        request.mariadb_cast_fix ? withoutJsonCast(pool) : pool,
        { tableName: request.table },
      );
      return { store, close: () => pool.end() };
    }
    case "redis": {
      const { Redis } = await import("ioredis");
      const { RedisKvStore } = await import("@fedify/redis");
      const redis = new Redis(request.url, { maxRetriesPerRequest: 1 });
      const store = new RedisKvStore(redis, { keyPrefix: request.prefix });
      return { store, close: () => redis.quit() };
    }
    default:
      fail(`unknown backend ${JSON.stringify(request.backend)}`);
  }
}

// @fedify/mysql writes values as `CAST(? AS JSON)`, which MariaDB cannot
// parse (it has no JSON cast; its JSON type is LONGTEXT with a JSON_VALID
// check, so the plain string is what it stores). This wraps the pool so that
// each statement reaches MariaDB with `CAST(? AS JSON)` replaced by `?` and is
// otherwise exactly the package's SQL, run by the package's own code.
function withoutJsonCast(pool) {
  const fix = (sql) => sql.replaceAll("CAST(? AS JSON)", "?");
  const wrap = (conn) =>
    new Proxy(conn, {
      get(target, name) {
        if (name === "query") return (sql, values) => target.query(fix(sql), values);
        const member = Reflect.get(target, name);
        return typeof member === "function" ? member.bind(target) : member;
      },
    });
  return {
    query: (sql, values) => pool.query(fix(sql), values),
    getConnection: async () => wrap(await pool.getConnection()),
  };
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

const opened = await openStore(request);
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
