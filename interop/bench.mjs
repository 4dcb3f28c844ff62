// Fedify's own stores through the workload of `fedikv bench` (docs/benchmarks.md),
// writing the same JSON Lines, so scripts/bench_table.py tables both sides.
//
//   node interop/bench.mjs [options]
//     --backends LIST   comma-separated, of: memory, sqlite, postgres-unlogged,
//                       mysql, redis (default: all)
//     -n N              operations (and keys) per phase (default 20000)
//     --concurrency C   in-flight gets of get_hit_c<C> (default 64)
//     --phase-max S     seconds after which a phase stops, `capped` (default 8)
//     --out FILE        append the lines to FILE (default: stdout)
//     --postgres URL    default postgres://postgres@127.0.0.1:5432/test
//     --mysql URL       default mysql://root@127.0.0.1:3306/test
//     --redis URL       default redis://127.0.0.1:6379/15
//     --pool-size P     PostgreSQL and MySQL pool connections (default 10,
//                       fedikv's default)
//   node interop/bench.mjs --documents I,J,...
//     prints document I, J, ... (one compact JSON per line) and exits: the
//     values, byte for byte those of fedikv's generator
//     (fedikv::bench_support::document; checked by crates/fedikv-cli/tests/it/bench.rs).
//
// Phases, keys and statistics are those of crates/fedikv-cli/src/bench
// (standard.rs, workload.rs, stats.rs): warm-up, then set, get_hit, get_miss,
// get_hit_c64, cas, list (50 × a prefix of 1000 keys among all the others),
// set_ttl (1 h), delete. An operation a package lacks (no cas() or list())
// is skipped, saying so on stderr. Each store runs on a table, file or Redis
// prefix of this run alone, removed before and after.
//
// Stores: Fedify's MemoryKvStore; @fedify/sqlite on node:sqlite in WAL mode
// with synchronous=NORMAL (as fedikv's SQLite store); @fedify/postgres
// (which creates UNLOGGED tables, hence the label postgres-unlogged);
// @fedify/mysql with its defaults (expireCleanupRate 1) and MariaDB's JSON
// cast fix of interop/stores.mjs; @fedify/redis on ioredis. Needs Node 24
// and the packages in interop/node_modules (scripts/interop-setup.sh).

import { appendFileSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { isDeepStrictEqual } from "node:util";

const VALUE_BYTES = 1024;
const PAD_SENTENCE = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ";
const LIST_PREFIX = ["_fedify", "bench-list"];
const LIST_KEYS = 1000;
const LIST_REPEAT = 50;
const WARMUP = 500;
const HARNESS = "node event loop, workload in async functions";

/**
 * Document `i`: the JSON text of fedikv's generator (serde_json writes object
 * keys sorted, so they are inserted here in sorted order).
 */
export function documentText(i) {
  const id = `https://example.com/users/${i}`;
  const value = {
    contextUrl: null,
    document: {
      "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
      followers: `${id}/followers`,
      following: `${id}/following`,
      id,
      inbox: `${id}/inbox`,
      name: `User ${i}`,
      outbox: `${id}/outbox`,
      preferredUsername: `user${i}`,
      publicKey: {
        id: `${id}#main-key`,
        owner: id,
        publicKeyPem: `-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${"x".repeat(180)}\n-----END PUBLIC KEY-----\n`,
      },
      summary: "",
      type: "Person",
    },
    documentUrl: id,
  };
  const base = JSON.stringify(value).length;
  const pad = PAD_SENTENCE.repeat(8);
  value.document.summary = pad.slice(0, Math.min(Math.max(VALUE_BYTES - base, 0), pad.length));
  return JSON.stringify(value);
}

const docKey = (i) => ["_fedify", "remoteDocument", `https://example.com/users/${i}`];
const missKey = (i) => ["_fedify", "remoteDocument", `https://example.com/missing/${i}`];
const ttlKey = (i) => ["_fedify", "bench-ttl", `https://example.com/users/${i}`];
const listKey = (i) => [...LIST_PREFIX, `https://example.com/notes/${i}`];
const warmKey = (i) => ["_fedify", "bench-warmup", `https://example.com/users/${i}`];
const COUNTER_KEY = ["_fedify", "bench", "counter"];

const tenths = (x) => Math.round(x * 10) / 10;

/** The statistics of a phase, as fedikv's stats.rs computes them. */
function phaseStats(latencies, requested, errors, elapsedMs) {
  latencies.sort((a, b) => a - b);
  const n = latencies.length;
  const at = (p) => (n === 0 ? null : tenths(latencies[Math.min(Math.floor(p * n), n - 1)]));
  return {
    elapsed_s: Math.round(elapsedMs) / 1000,
    ops_per_sec: n === 0 || elapsedMs <= 0 ? 0 : tenths((n / elapsedMs) * 1000),
    p50_us: at(0.5),
    p90_us: at(0.9),
    p99_us: at(0.99),
    mean_us: n === 0 ? null : tenths(latencies.reduce((a, b) => a + b, 0) / n),
    max_us: n === 0 ? null : tenths(latencies[n - 1]),
    n,
    errors,
    capped: n < requested,
  };
}

/** Runs `op(i)` for i in 0..n one at a time until done or `capMs` passed. */
async function sequential(n, capMs, op) {
  const latencies = [];
  let errors = 0;
  const start = performance.now();
  const deadline = start + capMs;
  for (let i = 0; i < n; i++) {
    const began = performance.now();
    if (began > deadline) break;
    if (!(await op(i))) errors++;
    latencies.push((performance.now() - began) * 1000);
  }
  return phaseStats(latencies, n, errors, performance.now() - start);
}

/** Runs `op(i)` for i in 0..n with `inFlight` workers taking the next i. */
async function concurrent(n, inFlight, capMs, op) {
  const latencies = [];
  let errors = 0;
  let next = 0;
  const start = performance.now();
  const deadline = start + capMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const i = next++;
      if (i >= n) return;
      const began = performance.now();
      if (!(await op(i))) errors++;
      latencies.push((performance.now() - began) * 1000);
    }
  };
  await Promise.all(Array.from({ length: Math.max(inFlight, 1) }, worker));
  return phaseStats(latencies, n, errors, performance.now() - start);
}

/** A phase failure: the phase it happened in and the error. */
class PhaseError extends Error {
  constructor(phase, cause) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.phase = phase;
  }
}

async function inPhase(phase, work) {
  try {
    return await work();
  } catch (error) {
    throw error instanceof PhaseError ? error : new PhaseError(phase, error);
  }
}

/** The standard scenario on `store`; `emit(op, concurrency, stats, extras)`. */
async function runScenario(store, config, emit, log) {
  const { n, concurrency, capMs, values, ttl } = config;
  const value = (i) => values[i % values.length];
  await inPhase("warmup", async () => {
    for (let i = 0; i < WARMUP; i++) {
      await store.set(warmKey(i), value(i));
      await store.get(warmKey(i));
    }
    const probe = await store.get(warmKey(0));
    // Deep equality: PostgreSQL's jsonb, for one, reorders object keys.
    if (!isDeepStrictEqual(probe, value(0))) {
      log(`WARNING get() returned ${JSON.stringify(probe)?.slice(0, 40)}..., not the stored value`);
    }
  });
  let stats = await inPhase("set", () =>
    sequential(n, capMs, async (i) => (await store.set(docKey(i), value(i)), true)),
  );
  emit("set", 1, stats);
  const nKeys = stats.n;
  stats = await inPhase("get_hit", () =>
    sequential(nKeys, capMs, async (i) => (await store.get(docKey(i))) !== undefined),
  );
  emit("get_hit", 1, stats);
  stats = await inPhase("get_miss", () =>
    sequential(n, capMs, async (i) => (await store.get(missKey(i))) === undefined),
  );
  emit("get_miss", 1, stats);
  const c = `get_hit_c${concurrency}`;
  const modulus = Math.max(nKeys, 1);
  stats = await inPhase(c, () =>
    concurrent(n, concurrency, capMs, async (i) => (await store.get(docKey(i % modulus))) !== undefined),
  );
  emit(c, concurrency, stats);
  if (typeof store.cas === "function") {
    stats = await inPhase("cas", async () => {
      await store.set(COUNTER_KEY, 0);
      return sequential(n, capMs, (i) => store.cas(COUNTER_KEY, i, i + 1));
    });
    emit("cas", 1, stats);
  } else {
    log("cas: skipped, the package has no cas()");
  }
  if (typeof store.list === "function") {
    stats = await inPhase("list", async () => {
      for (let i = 0; i < LIST_KEYS; i++) await store.set(listKey(i), value(i));
      return sequential(LIST_REPEAT, capMs, async () => {
        let count = 0;
        for await (const _ of store.list(LIST_PREFIX)) count++;
        return count === LIST_KEYS;
      });
    });
    emit("list", 1, stats, {
      entries_per_call: LIST_KEYS,
      entries_per_sec: Math.round(stats.ops_per_sec * LIST_KEYS),
      total_keys_in_store: nKeys + LIST_KEYS + WARMUP + 1,
    });
  } else {
    log("list: skipped, the package has no list()");
  }
  stats = await inPhase("set_ttl", () =>
    sequential(n, capMs, async (i) => (await store.set(ttlKey(i), value(i), { ttl }), true)),
  );
  emit("set_ttl", 1, stats);
  stats = await inPhase("delete", () =>
    sequential(nKeys, capMs, async (i) => (await store.delete(docKey(i)), true)),
  );
  emit("delete", 1, stats);
}

/** The installed version of an npm package of interop/node_modules. */
function version(name) {
  const file = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(file, "utf8")).version;
}

/** `host:port/path` of a server URL, without credentials. */
function where(url) {
  const u = new URL(url);
  return `${u.hostname}:${u.port}${u.pathname}`;
}

/** The store target, driver and server text of a backend label. */
function describe(backend, options, runId) {
  // A table of this run alone: other programs may benchmark the same server.
  const TABLE = `fedify_bench_${process.pid}`;
  switch (backend) {
    case "memory":
      return {
        target: { backend: "memory" },
        driver: `@fedify/fedify ${version("@fedify/fedify")} MemoryKvStore`,
        server: "in-process",
      };
    case "sqlite": {
      const path = join(tmpdir(), `fedify-bench-${runId}.sqlite3`);
      return {
        target: { backend: "sqlite", path, table: TABLE },
        driver: `@fedify/sqlite ${version("@fedify/sqlite")} + node:sqlite`,
        server: `SQLite ${process.versions.sqlite} (node:sqlite), file ${path}, WAL, synchronous=NORMAL`,
        file: path,
      };
    }
    case "postgres-unlogged":
      return {
        target: { backend: "postgres", url: options.postgres, table: TABLE, pool_size: options.poolSize },
        driver: `@fedify/postgres ${version("@fedify/postgres")} + postgres ${version("postgres")} (pool ${options.poolSize})`,
        server: `PostgreSQL at ${where(options.postgres)}`,
      };
    case "mysql":
      return {
        target: {
          backend: "mysql",
          url: options.mysql,
          table: TABLE,
          mariadb_cast_fix: true,
          pool_size: options.poolSize,
        },
        driver: `@fedify/mysql ${version("@fedify/mysql")} (MariaDB cast fix) + mysql2 ${version("mysql2")} (pool ${options.poolSize})`,
        server: `MySQL/MariaDB at ${where(options.mysql)}`,
      };
    case "redis":
      return {
        target: { backend: "redis", url: options.redis, prefix: `fedify-bench-${runId}::` },
        driver: `@fedify/redis ${version("@fedify/redis")} + ioredis ${version("ioredis")}`,
        server: `Redis at ${where(options.redis)}`,
      };
    default:
      throw new Error(`unknown backend ${JSON.stringify(backend)}`);
  }
}

function parseArgs(argv) {
  const options = {
    backends: ["memory", "sqlite", "postgres-unlogged", "mysql", "redis"],
    n: 20000,
    concurrency: 64,
    phaseMax: 8,
    out: null,
    postgres: "postgres://postgres@127.0.0.1:5432/test",
    mysql: "mysql://root@127.0.0.1:3306/test",
    redis: "redis://127.0.0.1:6379/15",
    poolSize: 10,
    documents: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    const positive = (name, text) => {
      const number = Number(text);
      if (!Number.isInteger(number) || number < 1) throw new Error(`${name} must be a positive integer`);
      return number;
    };
    switch (argv[i]) {
      case "--backends": options.backends = value().split(",").filter(Boolean); break;
      case "-n": options.n = positive("-n", value()); break;
      case "--concurrency": options.concurrency = positive("--concurrency", value()); break;
      case "--phase-max": options.phaseMax = positive("--phase-max", value()); break;
      case "--out": options.out = value(); break;
      case "--postgres": options.postgres = value(); break;
      case "--mysql": options.mysql = value(); break;
      case "--redis": options.redis = value(); break;
      case "--pool-size": options.poolSize = positive("--pool-size", value()); break;
      case "--documents": options.documents = value().split(",").map((i) => Number(i)); break;
      default: throw new Error(`unknown argument ${JSON.stringify(argv[i])}`);
    }
  }
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.documents) {
    for (const i of options.documents) process.stdout.write(`${documentText(i)}\n`);
    return;
  }
  const { openStore } = await import("./stores.mjs");
  const { Temporal } = await import("@js-temporal/polyfill");
  const write = (line) => {
    const text = `${JSON.stringify(line)}\n`;
    if (options.out) appendFileSync(options.out, text);
    else process.stdout.write(text);
  };
  const runId = `${process.pid}-${Date.now()}`;
  const config = {
    n: options.n,
    concurrency: options.concurrency,
    capMs: options.phaseMax * 1000,
    values: Array.from({ length: options.n }, (_, i) => JSON.parse(documentText(i))),
    ttl: Temporal.Duration.from({ hours: 1 }),
  };
  process.stderr.write(
    `[bench.mjs] node ${process.version}; ${HARNESS}; N=${options.n} concurrency=${options.concurrency} ` +
      `list=${LIST_KEYS}x${LIST_REPEAT} warmup=${WARMUP} phase cap=${options.phaseMax}s; value ${VALUE_BYTES} B; ` +
      `stores: ${options.backends.join(", ")}\n`,
  );
  let failed = 0;
  for (const backend of options.backends) {
    const { target, driver, server, file } = describe(backend, options, runId);
    const base = {
      suite: "fedify-kv-bench",
      ts: new Date().toISOString(),
      host: hostname(),
      runtime: `node ${process.version.slice(1)}`,
      backend,
      impl: "fedify",
      driver,
      server,
      value_bytes: VALUE_BYTES,
      harness: HARNESS,
    };
    const log = (message) => process.stderr.write(`[bench.mjs] ${backend.padEnd(18)} ${message}\n`);
    const emit = (op, concurrency, stats, extras = {}) => {
      write({ ...base, op, concurrency, ...stats, ...extras });
      log(`${op.padEnd(24)} n=${String(stats.n).padStart(7)} ${String(stats.ops_per_sec).padStart(12)} ops/s  p50=${stats.p50_us}us p99=${stats.p99_us}us${stats.errors ? `  errors=${stats.errors}` : ""}${stats.capped ? "  (capped)" : ""}`);
    };
    let opened;
    const started = performance.now();
    try {
      opened = await inPhase("open", async () => {
        const opened = await openStore(target);
        await opened.drop();
        if (opened.db) opened.db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        return opened;
      });
      await runScenario(opened.store, config, emit, log);
      await inPhase("cleanup", () => opened.drop());
      log(`done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
    } catch (error) {
      failed++;
      const phase = error instanceof PhaseError ? error.phase : "unknown";
      write({ ...base, op: "_error", phase, error: error.message });
      log(`ERROR in phase ${phase}: ${error.message}`);
      await opened?.drop().catch(() => {});
    } finally {
      await opened?.close().catch(() => {});
      if (file) for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
    }
  }
  if (failed > 0) {
    process.stderr.write(`[bench.mjs] ${failed} of ${options.backends.length} stores failed; see the "_error" lines\n`);
    process.exitCode = 2;
  }
}

main().catch((error) => {
  process.stderr.write(`bench.mjs: ${error.message}\n`);
  process.exitCode = 2;
});
