// Opens one of Fedify's published KvStore packages, for the Node drivers of
// fedikv's interop tests: interop/fedify.mjs (batches of operations) and
// interop/generative.mjs (generated keys and values).
//
// A target (one JSON object) names the store:
//   { "backend": "memory" }
//     Fedify's MemoryKvStore (@fedify/fedify)
//   { "backend": "sqlite",   "path": FILE, "table": NAME, "package"?: P }
//     P: "@fedify/sqlite" (1.8.7, the default) or "@fedify/sqlite-2.0-dev"
//     (2.0.0-dev.279, the only published version with list())
//   { "backend": "postgres", "url": URL,   "table": NAME, "pool_size"?: P }
//     P: connections of the postgres.js pool (default 2)
//   { "backend": "mysql",    "url": URL,   "table": NAME, "mariadb_cast_fix"?: B,
//     "expire_cleanup_rate"?: R, "pool_size"?: P }
//     P: connections of the mysql2 pool (default: mysql2's, 10)
//     R: the package's expireCleanupRate (default 1: every write deletes the
//     expired rows first)
//   { "backend": "redis",    "url": URL,   "prefix": KEY_PREFIX }
//
// Needs Node >= 22 (node:sqlite); scripts/interop-setup.sh installs Node 24
// and the packages into interop/node_modules.

import { registerHooks } from "node:module";

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

const SQLITE_PACKAGES = ["@fedify/sqlite", "@fedify/sqlite-2.0-dev"];

/**
 * Opens the Fedify store `target` names. Returns `{ store, close, drop }`
 * (`db` too for SQLite): `close()` ends the connections, `drop()` removes
 * everything the store holds (the table, or every Redis key under the
 * prefix) and must come before `close()`. Throws on a bad target.
 */
export async function openStore(target) {
  switch (target.backend) {
    case "memory": {
      const { MemoryKvStore } = await import("@fedify/fedify");
      const store = new MemoryKvStore();
      return { store, close: async () => {}, drop: async () => {} };
    }
    case "sqlite": {
      const { DatabaseSync } = await import("node:sqlite");
      const name = target.package ?? "@fedify/sqlite";
      if (!SQLITE_PACKAGES.includes(name)) {
        throw new Error(`unknown package ${JSON.stringify(name)}`);
      }
      const { SqliteKvStore } = await import(name);
      // A busy timeout, as any process sharing the file with fedikv's writer
      // needs (node:sqlite waits 0 ms by default).
      const db = new DatabaseSync(target.path, { timeout: 10_000 });
      const store = new SqliteKvStore(db, { tableName: target.table });
      return {
        store,
        db,
        close: async () => db.close(),
        drop: async () => db.exec(`DROP TABLE IF EXISTS "${target.table}"`),
      };
    }
    case "postgres": {
      const { default: postgres } = await import("postgres");
      const { PostgresKvStore } = await import("@fedify/postgres");
      const sql = postgres(target.url, { onnotice: () => {}, max: target.pool_size ?? 2 });
      const store = new PostgresKvStore(sql, { tableName: target.table });
      return {
        store,
        close: () => sql.end(),
        drop: async () => {
          await sql`DROP TABLE IF EXISTS ${sql(target.table)}`;
        },
      };
    }
    case "mysql": {
      const { createPool } = await import("mysql2/promise");
      const { MysqlKvStore } = await import("@fedify/mysql");
      const pool = createPool(
        target.pool_size ? { uri: target.url, connectionLimit: target.pool_size } : target.url,
      );
      const store = new MysqlKvStore(
        target.mariadb_cast_fix ? withoutJsonCast(pool) : pool,
        { tableName: target.table, expireCleanupRate: target.expire_cleanup_rate },
      );
      return {
        store,
        close: () => pool.end(),
        drop: async () => {
          await pool.query("DROP TABLE IF EXISTS ??", [target.table]);
        },
      };
    }
    case "redis": {
      const { Redis } = await import("ioredis");
      const { RedisKvStore } = await import("@fedify/redis");
      const redis = new Redis(target.url, { maxRetriesPerRequest: 1 });
      const store = new RedisKvStore(redis, { keyPrefix: target.prefix });
      return {
        store,
        close: () => redis.quit(),
        drop: () => deleteUnder(redis, target.prefix),
      };
    }
    default:
      throw new Error(`unknown backend ${JSON.stringify(target.backend)}`);
  }
}

/** Deletes every Redis key that starts with `prefix` (glob characters escaped). */
async function deleteUnder(redis, prefix) {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scanBuffer(cursor, "MATCH", pattern, "COUNT", 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next.toString();
  } while (cursor !== "0");
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
