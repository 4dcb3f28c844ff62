// Deno's side of fedikv's Deno KV interop tests (crates/fedikv/tests/it/denokv/store.rs; installed by scripts/interop-setup.sh).
//
//   deno run --unstable-kv --allow-all deno_kv.ts <path-or-url> '<command JSON>'
//
// Opens the database with Deno.openKv (a file path, or an http:// KV Connect
// URL with DENO_KV_ACCESS_TOKEN set), runs one command and prints its result
// as JSON on stdout:
//   {"op":"set","entries":[{"key":[..],"value":<json>,"expireIn":ms?}]}  -> null
//   {"op":"setSpecial","key":[..],"special":"date"|"map"|...}            -> null
//   {"op":"get","keys":[[..],..]}  -> [{"found":bool,"value":<described>}]
//   {"op":"cas","key":[..],"expected":<json>,"value":<json>}             -> bool
//   {"op":"list","prefix":[..]}    -> [key, ..] (Deno's list: the prefix key itself excluded)
//   {"op":"delete","keys":[[..],..]}                                     -> null
// A read value is described exactly: plain objects, arrays and primitives as
// JSON, anything else as {"$type": "<constructor name>"}, undefined as
// {"$type":"undefined"}, so the Rust side sees whether Deno got plain objects.

const [target, commandText] = Deno.args;
const command = JSON.parse(commandText);
const kv = await Deno.openKv(target);

function describe(value: unknown): unknown {
  if (value === undefined) return { $type: "undefined" };
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    return Number.isFinite(value) ? value : { $type: `number ${value}` };
  }
  if (typeof value !== "object") return { $type: typeof value };
  if (Array.isArray(value)) {
    return Array.from({ length: value.length }, (_, i) => describe(value[i]));
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) {
    return { $type: value.constructor?.name ?? "null-prototype object" };
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describe(v)]));
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

const specials: Record<string, () => unknown> = {
  date: () => new Date(0),
  map: () => new Map([["a", 1]]),
  set: () => new Set([1]),
  bytes: () => new Uint8Array([1, 2, 3]),
  bigint: () => 10n,
  undefined: () => undefined,
  nan: () => NaN,
  u64: () => new Deno.KvU64(7n),
  nested_date: () => ({ when: new Date(0) }),
  sparse: () => [1, , 3],
  undefined_field: () => ({ a: 1, b: undefined }),
  // A few hundred bytes that stand for 2^40 items: each level refers to
  // the one below twice.
  shared_doubling: () => {
    let a: unknown = [1];
    for (let i = 0; i < 40; i++) a = [a, a];
    return a;
  },
  // 100 sparse arrays of length 2^20 each, in a few kilobytes.
  many_sparse: () =>
    Array.from({ length: 100 }, () => {
      const s: unknown[] = [];
      s.length = 1 << 20;
      return s;
    }),
};

let result: unknown = null;
switch (command.op) {
  case "set":
    for (const entry of command.entries) {
      const options = entry.expireIn === undefined ? undefined : { expireIn: entry.expireIn };
      await kv.set(entry.key, entry.value, options);
    }
    break;
  case "setSpecial":
    await kv.set(command.key, specials[command.special]());
    break;
  case "get":
    result = [];
    for (const key of command.keys) {
      const entry = await kv.get(key);
      (result as unknown[]).push(
        entry.versionstamp === null ? { found: false } : { found: true, value: describe(entry.value) },
      );
    }
    break;
  case "cas": {
    // Fedify's DenoKvStore.cas: a versionstamp check on a deep-equal value.
    const entry = await kv.get(command.key);
    if (entry.versionstamp === null || !equal(entry.value, command.expected)) {
      result = false;
      break;
    }
    const commit = await kv.atomic().check(entry).set(command.key, command.value).commit();
    result = commit.ok;
    break;
  }
  case "list":
    result = [];
    for await (const entry of kv.list({ prefix: command.prefix })) {
      (result as unknown[]).push(entry.key);
    }
    break;
  case "delete":
    for (const key of command.keys) await kv.delete(key);
    break;
  default:
    throw new Error(`unknown op ${command.op}`);
}
kv.close();
console.log(JSON.stringify(result));
