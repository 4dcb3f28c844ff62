// Cross-language generative tests: random keys (any JavaScript string: lone
// surrogates, NUL, `%`, `_`, `:`, `::`, `\`, `"`, emoji, U+2028, U+FEFF,
// U+10FFFF, empty) and values (any JSON: nesting up to 1,000 levels, big and
// tiny numbers, -0, long strings, objects with keys such as "__proto__"),
// written by one of Fedify's published stores and read by the `fedikv`
// command, and the reverse, on one shared store. fast-check generates the
// cases, runs them as properties and shrinks a failing one.
//
// Two properties, each run on fresh keys per case:
//   fedify-writes  Fedify sets the entries; `fedikv list` and `fedikv get`
//                  return what Fedify itself reads back; `fedikv cas` with a
//                  wrong expectation changes nothing, with Fedify's value it
//                  swaps in a new value that Fedify then reads as it reads
//                  its own writes; `fedikv delete` removes the entry for
//                  Fedify; `fedikv list` is then empty.
//   fedikv-writes  `fedikv set` writes the entries (some with a TTL); Fedify
//                  and `fedikv get` / `fedikv list` read what Fedify reads
//                  after writing the same value itself; Fedify removes each
//                  entry (`cas` to undefined where the package has it,
//                  `delete` otherwise); `fedikv list` is then empty.
// "What Fedify reads back" is the oracle, not what was written: on
// PostgreSQL (postgres.js) and in Redis keys (ioredis) Fedify's driver turns
// a lone surrogate into U+FFFD, so keys are compared in that form there. A
// write Fedify's own store refuses (PostgreSQL: NUL, lone surrogates in
// values; MariaDB: lone surrogates in values, more than 31 levels) may be
// refused by fedikv too (exit code 2, nothing changes); if fedikv stores
// it, Fedify must read it back exactly (PostgreSQL and MariaDB, where
// fedikv documents it: with U+FFFD for lone surrogates in values). Deep
// equality is the contract's (rule O4): object key order ignored, numbers by
// value.
//
// Input (stdin, one JSON object):
//   { "fedify": TARGET, "fedikv": { "bin": PATH, "store": URL } }
//   TARGET as interop/stores.mjs describes it; URL the same store for fedikv.
// Environment:
//   FEDIKV_GEN_SEED        the seed (default 20240610)
//   FEDIKV_GEN_RUNS        cases per property (default 100)
//   FEDIKV_GEN_JOBS        runs of each property at once (default 2), job j
//                          with seed FEDIKV_GEN_SEED + j
//   FEDIKV_GEN_ONLY        run one property: fedify-writes | fedikv-writes
//   FEDIKV_GEN_PATH        replay the case at this fast-check path (with the
//                          seed and FEDIKV_GEN_ONLY a failure printed: one job)
//   FEDIKV_GEN_TIME_LIMIT  seconds per property, shrinking included (default
//                          600); shrinking stops there with the smallest case
//                          found so far
// Exit status: 0 passed; 1 a property failed (the seed, the path, the shrunk
// case and the replay command on stderr, the whole case in a JSON file);
// 2 bad input or setup. Everything under the store's table or key prefix is
// removed at the end.

import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import fc from "fast-check";

import { openStore } from "./stores.mjs";

// Drivers may log (postgres.js prints server notices): keep stdout clean.
console.log = console.error;
console.info = console.error;

const DEFAULT_SEED = 20240610;
const DEFAULT_RUNS = 100;
const DEFAULT_JOBS = 2;
const DEFAULT_TIME_LIMIT_S = 600;
/** How long one `fedikv` call may take before it is killed and the case fails. */
const CALL_TIMEOUT_MS = 120_000;
/** The TTL of the entries `fedikv set --ttl` writes. */
const TTL_MS = 3_600_000;
const PROPERTIES = ["fedify-writes", "fedikv-writes"];

function fail(message) {
  process.stderr.write(`generative.mjs: ${message}\n`);
  process.exit(2);
}

function envInt(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) fail(`${name}=${text} is not a whole number`);
  return n;
}

// ---------------------------------------------------------------------------
// What each backend's Fedify store does with JavaScript strings.

/**
 * Per backend: `lossyKeys` / `lossyValues`: Fedify's driver stores a lone
 * surrogate as U+FFFD; `fedifyWrites`: what the Fedify-writes property
 * generates, so that Fedify's own store accepts nearly every case (it may
 * still refuse one; that entry is then expected absent).
 */
const BACKENDS = {
  sqlite: {
    lossyKeys: false,
    lossyValues: false,
    fedifyWrites: { nul: true, loneInValues: true, maxDeep: 1000, topNull: true },
  },
  redis: {
    lossyKeys: true,
    lossyValues: false,
    fedifyWrites: { nul: true, loneInValues: true, maxDeep: 1000, topNull: true },
  },
  postgres: {
    // postgres.js sends text as UTF-8 (lone surrogates: U+FFFD), and jsonb
    // refuses `\ud800` escapes and NUL; @fedify/postgres 1.8.7 binds a
    // top-level null as SQL NULL, which `value NOT NULL` refuses.
    lossyKeys: true,
    lossyValues: true,
    fedifyWrites: { nul: false, loneInValues: false, maxDeep: 1000, topNull: false },
  },
  mysql: {
    // MariaDB's JSON_VALID check refuses `\ud800` escapes and more than 31
    // levels of nesting; fedikv stores lone surrogates in values as U+FFFD
    // there (its documented choice; @fedify/mysql's write fails).
    lossyKeys: false,
    lossyValues: true,
    fedifyWrites: { nul: true, loneInValues: false, maxDeep: 31, topNull: true },
  },
};

/** What the fedikv-writes property generates: everything. */
const EVERYTHING = { nul: true, loneInValues: true, maxDeep: 1000, topNull: true };

// ---------------------------------------------------------------------------
// Generators.

/** Pieces of strings that broke or could break an encoding. */
const TRICKY_PIECES = [
  "%", "_", ":", "::", "_:", "\\", "\"", "'", "/", "*", "?", "[", "]", ",",
  "\0", "\n", "\r", "\t", "\b", "\u001f", "\u007f", "\u0085", " ",
  "\u2028", "\u2029", "\ufeff", "\ufffd", "\ufffe", "\uffff",
  "é", "e\u0301", "中", "😀", "🦀",
  "\ud83d", "\ude00", "\ud800", "\udbff", "\udc00", "\udfff", "\ud800\ud800",
  "\u{10ffff}", "\u{10f000}", "\u{10f7ff}", "\u{10f800}",
  "\u{10ffff}\u{10f000}", "\u{10ffff}\u{10ffff}", "\u{10ffff}\ud800",
];

const isLone = (s) => !s.isWellFormed();

/** One piece of a string: a special piece, ASCII, any code unit or code point. */
function pieceArb({ nul, lone }) {
  const allowed = (s) => (nul || !s.includes("\0")) && (lone || !isLone(s));
  const unit = fc
    .integer({ min: 0, max: 0xffff })
    .map((u) => String.fromCharCode(u))
    .filter(allowed);
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...TRICKY_PIECES.filter(allowed)) },
    { weight: 4, arbitrary: fc.constantFrom(..."abcxyzAZ019-.~ ") },
    { weight: 2, arbitrary: unit },
    { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) },
  );
}

function stringArb(chars, maxPieces) {
  return fc.array(pieceArb(chars), { maxLength: maxPieces }).map((pieces) => pieces.join(""));
}

/** A key (under the case's own prefix): 1 to 3 components. */
function keyArb(chars) {
  return fc.array(stringArb(chars, 8), { minLength: 1, maxLength: 3 });
}

/** Object keys: generated strings and the names an object literal gets wrong. */
function propertyNameArb(chars, maxPieces) {
  return fc.oneof(
    { weight: 3, arbitrary: stringArb(chars, maxPieces) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("__proto__", "constructor", "toString", "", "0", "01", "-0", "1e3", "4294967295", "length"),
    },
  );
}

/** Numbers JSON can carry, and the ones that are hard to carry exactly. */
const numberArb = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    -0, 0, 1, -1, 0.1, 1.5, 1e21, 1e-7, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53),
    2 ** 63, -(2 ** 63), 2 ** 64, 1e300, 1.7976931348623157e308, -1.7976931348623157e308,
    5e-324, -5e-324, 2.2250738585072014e-308, 123456789.12345679,
  ),
);

/** An object with these own properties ("__proto__" included, as JSON.parse makes it). */
function objectOf(entries) {
  const object = {};
  for (const [name, value] of entries) {
    Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

function objectArb(nameArb, valueArb, maxLength) {
  return fc
    .uniqueArray(fc.tuple(nameArb, valueArb), { selector: ([name]) => name, maxLength })
    .map(objectOf);
}

/** `leaf` nested `depth` levels in arrays, objects or both by turns. */
function nest({ depth, shape, name, leaf }) {
  let value = leaf;
  for (let level = 0; level < depth; level++) {
    const array = shape === "array" || (shape === "mixed" && level % 2 === 0);
    value = array ? [value] : objectOf([[name, value]]);
  }
  return value;
}

/** Any JSON value, for what `chars` allows (`topNull`: a top-level null). */
function valueArb(chars) {
  const strings = { nul: chars.nul, lone: chars.loneInValues };
  const scalar = fc.oneof(fc.constant(null), fc.boolean(), numberArb, stringArb(strings, 12));
  const tree = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: "small", maxDepth: 4, depthIdentifier: "json" },
      scalar,
      tie("array"),
      tie("object"),
    ),
    array: fc.array(tie("value"), { maxLength: 4, depthIdentifier: "json" }),
    object: objectArb(propertyNameArb(strings, 6), tie("value"), 4),
  })).value;
  const deep = fc
    .record({
      depth: fc.integer({ min: 1, max: chars.maxDeep }),
      shape: fc.constantFrom("array", "object", "mixed"),
      name: propertyNameArb(strings, 3),
      leaf: scalar,
    })
    .map(nest);
  // Cut to 3,000 code units, which may split a surrogate pair.
  const long = fc
    .tuple(stringArb(strings, 6), fc.integer({ min: 1, max: 3000 }))
    .map(([piece, times]) => (piece || "x").repeat(times).slice(0, 3000))
    .map((s) => (strings.lone ? s : s.toWellFormed()));
  const value = fc.oneof(
    { weight: 8, arbitrary: tree },
    { weight: 2, arbitrary: deep },
    { weight: 1, arbitrary: long },
    { weight: 1, arbitrary: long.map((s) => ({ type: "Note", content: s })) },
  );
  return chars.topNull ? value : value.filter((v) => v !== null);
}

/**
 * A case: 1 to 3 entries with keys distinct as the backend stores them,
 * and whether the command line gets ASCII-only JSON (`\uXXXX` for every
 * other character) or `JSON.stringify` text.
 */
function caseArb(chars, keyOf, withTtl) {
  const entry = fc.record({
    key: keyArb({ nul: chars.nul, lone: true }),
    value: valueArb(chars),
    replacement: valueArb(chars),
    ttl: withTtl ? fc.boolean() : fc.constant(false),
  });
  return fc.record({
    entries: fc.uniqueArray(entry, {
      minLength: 1,
      maxLength: 3,
      selector: (e) => JSON.stringify(keyOf(e.key)),
    }),
    ascii: fc.boolean(),
  });
}

// ---------------------------------------------------------------------------
// JSON text, comparison and display.

/** `value`'s JSON text; with `ascii`, every non-ASCII code unit as `\uXXXX`. */
function jsonText(value, ascii) {
  const text = JSON.stringify(value);
  return ascii
    ? text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    : text;
}

/** A short, readable (ASCII) form of a value for messages. */
function show(value, max = 600) {
  if (value === undefined) return "(absent)";
  const text = jsonText(value, true);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** The string as Fedify's UTF-8 drivers store it: lone surrogates as U+FFFD. */
const wellFormed = (s) => s.toWellFormed();

/** `value` with every string and object key made well-formed. */
function wellFormedValue(value) {
  if (typeof value === "string") return wellFormed(value);
  if (Array.isArray(value)) return value.map(wellFormedValue);
  if (value !== null && typeof value === "object") {
    return objectOf(Object.keys(value).map((k) => [wellFormed(k), wellFormedValue(value[k])]));
  }
  return value;
}

/**
 * Where `a` and `b` differ as the contract compares values (object key
 * order ignored, numbers by value, `undefined` is absent), as a path such as
 * `$[0]["a"]`; `null` when they are deep-equal. Iterative: any depth.
 */
function difference(a, b) {
  const pending = [[a, b, null]];
  const pathOf = (at) => {
    const parts = [];
    for (let node = at; node !== null; node = node.parent) parts.push(node.step);
    return `$${parts.reverse().join("")}`;
  };
  while (pending.length > 0) {
    const [x, y, at] = pending.pop();
    const objects = x !== null && y !== null && typeof x === "object" && typeof y === "object";
    if (!objects) {
      if (x !== y) return pathOf(at);
      continue;
    }
    if (Array.isArray(x) !== Array.isArray(y)) return pathOf(at);
    const xs = Object.keys(x);
    const ys = Object.keys(y);
    if (xs.length !== ys.length) return `${pathOf(at)} (${xs.length} vs ${ys.length} members)`;
    for (const name of xs) {
      if (!Object.hasOwn(y, name)) return `${pathOf(at)} (member ${show(name)} missing)`;
      const step = Array.isArray(x) ? `[${name}]` : `[${show(name, 40)}]`;
      pending.push([x[name], y[name], { parent: at, step }]);
    }
  }
  return null;
}

class Mismatch extends Error {}

function check(condition, message) {
  if (!condition) throw new Mismatch(message());
}

function checkSame(actual, expected, what) {
  const at = difference(actual, expected);
  check(at === null, () => `${what}: differs at ${at}\n  got      ${show(actual)}\n  expected ${show(expected)}`);
}

// ---------------------------------------------------------------------------
// The two sides.

let request;
try {
  request = JSON.parse(readFileSync(0, "utf8"));
} catch (error) {
  fail(`stdin is not one JSON object: ${error.message}`);
}
const backend = BACKENDS[request.fedify?.backend];
if (backend === undefined) fail(`unknown backend ${JSON.stringify(request.fedify?.backend)}`);
if (typeof request.fedikv?.bin !== "string" || typeof request.fedikv?.store !== "string") {
  fail(`"fedikv" must be { "bin": PATH, "store": URL }`);
}

/** The key as the backend stores it. */
const storedKey = (key) => (backend.lossyKeys ? key.map(wellFormed) : key);

let calls = 0;

/** Runs `fedikv --store URL ARGS`, `input` on stdin; resolves to its exit code and output. */
function fedikv(args, input) {
  calls++;
  return new Promise((resolve, reject) => {
    const child = spawn(request.fedikv.bin, ["--store", request.fedikv.store, ...args], {
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const out = [];
    const err = [];
    child.stdout.on("data", (chunk) => out.push(chunk));
    child.stderr.on("data", (chunk) => err.push(chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), CALL_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${request.fedikv.bin}: ${error.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString("utf8");
      let stdout;
      try {
        stdout = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(out));
      } catch {
        reject(new Mismatch(`fedikv ${args[0]} printed bytes that are not UTF-8`));
        return;
      }
      resolve({ code: signal ? `killed by ${signal}` : code, stdout, stderr, command: args[0] });
    });
    if (input !== undefined) {
      child.stdin.on("error", () => {}); // fedikv may exit before reading it all
      child.stdin.end(input);
    }
  });
}

function checkExit(result, codes, what) {
  check(
    codes.includes(result.code),
    () => `${what}: fedikv ${result.command} exited with ${result.code}, expected ${codes.join(" or ")}\n  stderr: ${result.stderr.trim().slice(0, 2000)}`,
  );
}

/** fedikv's value for `key`, `undefined` when absent (exit code 1). */
async function fedikvGet(key, ascii, what) {
  const result = await fedikv(["get", jsonText(key, ascii)]);
  checkExit(result, [0, 1], what);
  if (result.code === 1) return undefined;
  return parseJson(result.stdout, what);
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Mismatch(`${what}: fedikv printed text JSON.parse refuses (${error.message}): ${show(text)}`);
  }
}

/**
 * Checks that `fedikv list prefix` prints exactly `expected`: a map from the
 * JSON text of each stored key to `{ value, ttl }` (whether it has a TTL).
 */
async function checkList(prefix, expected, ascii, what) {
  const result = await fedikv(["list", jsonText(prefix, ascii), "--format", "json"]);
  checkExit(result, [0], what);
  const seen = new Set();
  for (const line of result.stdout.split("\n")) {
    if (line === "") continue;
    const { key, value, ttl_ms: ttl } = parseJson(line, what);
    const id = JSON.stringify(key);
    check(!seen.has(id), () => `${what}: key ${show(key)} listed twice`);
    seen.add(id);
    const want = expected.get(id);
    check(want !== undefined, () => `${what}: fedikv listed ${show(key)}, which is not stored; expected keys ${show([...expected.keys()])}`);
    checkSame(value, want.value, `${what}: value of ${show(key)}`);
    if (want.ttl) {
      check(typeof ttl === "number" && ttl > 0 && ttl <= TTL_MS, () => `${what}: ttl_ms of ${show(key)} is ${ttl}, expected at most ${TTL_MS}`);
    } else {
      check(ttl === null, () => `${what}: ttl_ms of ${show(key)} is ${ttl}, expected null (no TTL)`);
    }
  }
  for (const id of expected.keys()) {
    check(seen.has(id), () => `${what}: fedikv did not list ${show(JSON.parse(id))}`);
  }
}

let fedify;
/**
 * What Fedify reads after writing `value` under `key` itself (then deleting
 * it): `{ read }`, or `{ refused }` with its message.
 */
async function fedifyOracle(key, value) {
  try {
    await fedify.store.set(key, value);
  } catch (error) {
    return { refused: String(error?.message ?? error) };
  }
  const read = await fedify.store.get(key);
  await fedify.store.delete(key);
  return { read };
}

/**
 * After fedikv wrote `value` (its result `result`), given what Fedify did
 * with the same write (`oracle`, from [fedifyOracle]): the value Fedify must
 * now read, or `refused` (the entry is unchanged). Where Fedify's store
 * takes the write, fedikv must too and store what Fedify reads back; where
 * it refuses, fedikv may refuse with exit code 2 or store the value as the
 * backend holds it.
 */
function afterFedikvWrite(result, oracle, value, what) {
  if (oracle.refused === undefined) {
    checkExit(result, [0], what);
    return { expected: oracle.read };
  }
  checkExit(result, [0, 2], `${what} (Fedify's own store refuses it: ${oracle.refused})`);
  if (result.code === 2) {
    refusedByBoth++;
    return { refused: true };
  }
  return { expected: backend.lossyValues ? wellFormedValue(value) : value };
}

let refusedByFedify = 0;
let refusedByBoth = 0;
let caseNumber = 0;

/**
 * A case's rows: its entries with their keys under a prefix no other case
 * uses, each with a key of its own for [fedifyOracle], outside the prefix.
 */
function rowsOf(property, entries) {
  caseNumber++;
  const prefix = ["fedikv-gen", property, String(caseNumber)];
  const rows = entries.map((entry, i) => ({
    ...entry,
    key: [...prefix, ...entry.key],
    scratch: ["fedikv-gen-oracle", property, String(caseNumber), String(i)],
  }));
  return { prefix, rows };
}

/** Runs `check` on every row at once; throws the first row's failure once all have ended. */
async function eachRow(rows, check) {
  const outcomes = await Promise.allSettled(rows.map(check));
  const failure = outcomes.find((outcome) => outcome.status === "rejected");
  if (failure !== undefined) throw failure.reason;
}

/**
 * The property where Fedify writes and fedikv reads, swaps and deletes. The
 * rows (distinct keys) are checked at once, each on its own.
 */
async function fedifyWrites({ entries, ascii }) {
  const { prefix, rows } = rowsOf("fedify-writes", entries);
  const { store } = fedify;
  const listed = new Map();
  for (const row of rows) {
    try {
      await store.set(row.key, row.value);
    } catch {
      refusedByFedify++;
      continue;
    }
    row.read = await store.get(row.key);
    check(row.read !== undefined, () => `Fedify cannot read back its own write of ${show(row.key)}`);
    if (backend.lossyKeys) {
      checkSame(await store.get(storedKey(row.key)), row.read, `Fedify get of ${show(storedKey(row.key))}`);
    }
    listed.set(JSON.stringify(storedKey(row.key)), { value: row.read, ttl: false });
  }
  await checkList(prefix, listed, ascii, "fedikv list of what Fedify wrote");
  await eachRow(rows, (row) => fedikvReadsSwapsDeletes(row, ascii));
}

/** fedikv get, cas (wrong, then right) and delete of what Fedify wrote in `row`. */
async function fedikvReadsSwapsDeletes(row, ascii) {
  const { store } = fedify;
  const key = jsonText(row.key, ascii);
  const name = show(row.key);
  checkSame(await fedikvGet(row.key, ascii, `fedikv get ${name}`), row.read, `fedikv get ${name}`);
  if (row.read === undefined) return;

  const wrong = await fedikv(["cas", key, "--expect", jsonText([row.read], ascii), "--new", "0"]);
  checkExit(wrong, [1], `fedikv cas ${name} with a wrong expectation`);
  checkSame(await store.get(row.key), row.read, `Fedify get ${name} after fedikv's cas that must not swap`);

  const swap = await fedikv([
    "cas", key, "--expect", jsonText(row.read, ascii), "--new", jsonText(row.replacement, ascii),
  ]);
  check(swap.code !== 1, () => `fedikv cas ${name} --expect <what Fedify reads> did not swap; Fedify reads ${show(row.read)}`);
  const oracle = await fedifyOracle(row.scratch, row.replacement);
  const outcome = afterFedikvWrite(swap, oracle, row.replacement, `fedikv cas ${name} --new ${show(row.replacement)}`);
  checkSame(
    await store.get(row.key),
    outcome.refused ? row.read : outcome.expected,
    `Fedify get ${name} after fedikv's cas`,
  );

  checkExit(await fedikv(["delete", key]), [0], `fedikv delete ${name}`);
  checkSame(await store.get(row.key), undefined, `Fedify get ${name} after fedikv delete`);
}

/**
 * The property where fedikv writes and Fedify reads and removes. The rows
 * (distinct keys) are written and read at once, each on its own.
 */
async function fedikvWrites({ entries, ascii }) {
  const { prefix, rows } = rowsOf("fedikv-writes", entries);
  const { store } = fedify;
  await eachRow(rows, (row) => fedikvWritesFedifyReads(row, ascii));
  const listed = new Map();
  for (const row of rows) {
    if (row.expected !== undefined) {
      listed.set(JSON.stringify(storedKey(row.key)), { value: row.expected, ttl: row.ttl });
    }
  }
  await checkList(prefix, listed, ascii, "fedikv list of what fedikv wrote");
  for (const row of rows) {
    if (row.expected === undefined) continue;
    if (typeof store.cas === "function" && depthOf(row.expected) <= FEDIFY_CAS_MAX_DEPTH) {
      const read = await store.get(row.key);
      check(await store.cas(row.key, read, undefined), () => `Fedify cas ${show(row.key)} from its own read to undefined did not swap`);
    } else {
      await store.delete(row.key);
    }
  }
  await checkList(prefix, new Map(), ascii, "fedikv list after Fedify removed every entry");
}

/**
 * The deepest nesting Fedify's `cas` is given here. @fedify/sqlite and
 * @fedify/mysql compare with es-toolkit's `isEqual`, which also compares the
 * `constructor` members of two objects: on objects nested under
 * "constructor" keys its time doubles with each level (20 levels: 0.3 s;
 * the 90 levels a case made ran for hours). Deeper values are removed with
 * Fedify's `delete`.
 */
const FEDIFY_CAS_MAX_DEPTH = 12;

/** How many levels of arrays and objects `value` nests (a scalar: 0). Iterative. */
function depthOf(value) {
  let deepest = 0;
  const pending = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop();
    if (item === null || typeof item !== "object") {
      deepest = Math.max(deepest, depth);
      continue;
    }
    deepest = Math.max(deepest, depth + 1);
    for (const member of Object.values(item)) pending.push([member, depth + 1]);
  }
  return deepest;
}

/**
 * fedikv set of `row` (Fedify wrote and deleted the same first, to see what
 * it stores); Fedify and fedikv get. Sets `row.expected`: the value now
 * stored, `undefined` when both refused it.
 */
async function fedikvWritesFedifyReads(row, ascii) {
  const { store } = fedify;
  const name = show(row.key);
  const args = ["set", jsonText(row.key, ascii), "-"];
  if (row.ttl) args.push("--ttl", `${TTL_MS}ms`);
  const oracle = await fedifyOracle(row.key, row.value);
  const set = await fedikv(args, jsonText(row.value, ascii));
  const outcome = afterFedikvWrite(set, oracle, row.value, `fedikv set ${name} ${show(row.value)}`);
  if (outcome.refused) {
    // Neither side stored it, and the key itself may be what both refuse
    // (PostgreSQL: NUL): Fedify's get may throw, fedikv's may fail.
    const read = await store.get(row.key).catch(() => undefined);
    checkSame(read, undefined, `Fedify get ${name} after both refused to write it`);
    checkExit(await fedikv(["get", jsonText(row.key, ascii)]), [1, 2], `fedikv get ${name} after both refused to write it`);
    return;
  }
  row.expected = outcome.expected;
  checkSame(await store.get(row.key), row.expected, `Fedify get ${name} after fedikv set`);
  if (backend.lossyKeys) {
    checkSame(await store.get(storedKey(row.key)), row.expected, `Fedify get ${show(storedKey(row.key))}`);
  }
  checkSame(await fedikvGet(row.key, ascii, `fedikv get ${name}`), row.expected, `fedikv get ${name} after fedikv set`);
}

// ---------------------------------------------------------------------------
// Running and reporting.

const seed = envInt("FEDIKV_GEN_SEED", DEFAULT_SEED);
const runs = envInt("FEDIKV_GEN_RUNS", DEFAULT_RUNS);
const timeLimit = envInt("FEDIKV_GEN_TIME_LIMIT", DEFAULT_TIME_LIMIT_S);
const only = process.env.FEDIKV_GEN_ONLY || undefined;
const path = process.env.FEDIKV_GEN_PATH || undefined;
if (only !== undefined && !PROPERTIES.includes(only)) {
  fail(`FEDIKV_GEN_ONLY=${only}: expected one of ${PROPERTIES.join(", ")}`);
}
if (path !== undefined && only === undefined) fail("FEDIKV_GEN_PATH needs FEDIKV_GEN_ONLY (the property it belongs to)");
// A replay is one run of one job, with the seed it printed.
const jobs = path === undefined ? Math.max(1, envInt("FEDIKV_GEN_JOBS", DEFAULT_JOBS)) : 1;

const properties = {
  "fedify-writes": fc.asyncProperty(caseArb(backend.fedifyWrites, storedKey, false), fedifyWrites),
  "fedikv-writes": fc.asyncProperty(caseArb(EVERYTHING, storedKey, true), fedikvWrites),
};

/**
 * The runs of each property, split into `jobs` runs of fast-check that go
 * on at once (most of a fedikv call is spent waiting), job `j` with seed
 * `seed + j` and its share of the cases.
 */
function plan() {
  const names = only ? [only] : PROPERTIES;
  return names.flatMap((name) =>
    Array.from({ length: jobs }, (_, j) => ({
      name,
      seed: (seed + j) | 0,
      runs: Math.floor(runs / jobs) + (j < runs % jobs ? 1 : 0),
    })).filter((job) => job.runs > 0),
  );
}

/** Prints how to see and replay a failure, and writes the whole case to a file. */
function report(name, details) {
  const label = request.fedify.backend;
  const file = join(tmpdir(), `fedikv-gen-${label}-${name}-${details.seed}.json`);
  const [shrunk] = details.counterexample ?? [undefined];
  writeFileSync(file, `${JSON.stringify({ seed: details.seed, path: details.counterexamplePath, case: shrunk })}\n`);
  const error = details.errorInstance;
  const message = error instanceof Mismatch ? error.message : (error?.stack ?? String(error));
  process.stderr.write(
    [
      `generative.mjs: ${label}: property ${name} FAILED after ${details.numRuns} case(s), ${details.numShrinks} shrink step(s)${details.interrupted ? " (shrinking stopped at the time limit)" : ""}`,
      `  seed: ${details.seed}`,
      `  path: ${details.counterexamplePath}`,
      `  shrunk case (strings as JSON, non-ASCII as \\uXXXX): ${show(shrunk, 4000)}`,
      `  whole case: ${file}`,
      `  failure: ${message.replaceAll("\n", "\n  ")}`,
      `  replay: FEDIKV_GEN_SEED=${details.seed} FEDIKV_GEN_ONLY=${name} FEDIKV_GEN_PATH=${details.counterexamplePath} cargo test -p fedikv-cli --all-features --test interop_generative -- ${label}`,
      "",
    ].join("\n"),
  );
}

try {
  // @fedify/mysql deletes expired rows after every write, a statement that
  // deadlocks against concurrent writes (fedikv retries its deadlock
  // victims; Fedify, whose delete or cas has then already happened, cannot
  // be retried blindly): none here, nothing this test writes expires.
  const target = request.fedify.backend === "mysql" ? { ...request.fedify, expire_cleanup_rate: 0 } : request.fedify;
  fedify = await openStore(target);
} catch (error) {
  fail(error.message);
}
let failed = false;
try {
  // Fedify creates the table (as a Fedify app that ran first would).
  await fedify.store.set(["fedikv-gen-oracle"], 0);
  await fedify.store.delete(["fedikv-gen-oracle"]);
  const started = Date.now();
  const outcomes = await Promise.all(plan().map(async (job) => {
    const details = await fc.check(properties[job.name], {
      seed: job.seed,
      numRuns: job.runs,
      path,
      interruptAfterTimeLimit: timeLimit * 1000,
      markInterruptAsFailure: true,
    });
    const label = `generative.mjs: ${request.fedify.backend}: ${job.name} (seed ${job.seed})`;
    if (!details.failed) {
      process.stderr.write(`${label}: ${details.numRuns} cases passed, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    } else if (details.counterexample === null) {
      process.stderr.write(`${label}: ran out of its ${timeLimit} s before finishing ${job.runs} cases\n`);
    } else {
      report(job.name, details);
    }
    return details.failed;
  }));
  failed = outcomes.includes(true);
  process.stderr.write(
    `generative.mjs: ${request.fedify.backend}: ${calls} fedikv calls; entries Fedify refused to write: ${refusedByFedify}; values both refused: ${refusedByBoth}\n`,
  );
} finally {
  await fedify.drop();
  await fedify.close();
}
process.exit(failed ? 1 : 0);
