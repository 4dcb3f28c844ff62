//! The round trip of `list` on one server: a Lua script that walks the
//! `SCAN` and fetches the values of the keys it found, in one reply.
//!
//! A listing of a small prefix among many keys is a long `SCAN` walk (the
//! server looks at every key of the database) that finds few keys per call,
//! so fetching what each `SCAN` found in the next round trip made the
//! listing one round trip per [`SCAN_COUNT`] keys of the *database*: 22 for
//! 1000 matches among 21 000 keys, most of the listing's time. The script
//! instead runs up to [`SCANS_PER_PAGE`] `SCAN`s (stopping early once
//! [`PAGE_KEYS`] keys are found) and reads the found keys' values
//! (and, for `scan`, their `PTTL`s: atomically with the value) until
//! [`PAGE_BYTES`] of values are in. Keys found but not fetched come back
//! too; the caller passes them to the next run, which fetches them before
//! scanning on. So a reply holds at most [`PAGE_BYTES`] plus one value, and
//! a run blocks the server for at most [`SCANS_PER_PAGE`] `SCAN`s of
//! [`SCAN_COUNT`] plus that much copying.
//!
//! A script may only touch the keys it declares on a Redis Cluster, which a
//! `SCAN` cannot know beforehand: the cluster path (`list.rs`) keeps `SCAN`
//! and `MGET` as separate commands.

use std::sync::LazyLock;

use redis::{Script, Value as Reply};

use crate::error::{KvError, KvResult};

use super::conn::Conn;
use super::error::{BACKEND, is_dropped, map};
use super::list::{Expiries, SCAN_COUNT};

/// Most `SCAN`s (of [`SCAN_COUNT`] each) one run of the script makes: about
/// 8000 keys of the database, a millisecond of server time on this
/// machine, during which the server serves no one else (as a `SCAN` with a
/// `COUNT` that large would).
pub(crate) const SCANS_PER_PAGE: usize = 8;

/// A run stops scanning once it holds this many keys to fetch.
pub(crate) const PAGE_KEYS: usize = 500;

/// A run stops fetching values once they total this many bytes (so a reply
/// is at most this plus one value, V4's 1 MiB values included); the keys
/// left come back unfetched.
pub(crate) const PAGE_BYTES: usize = 1024 * 1024;

/// `ARGV[1]` the `SCAN` cursor, `ARGV[2]` the `MATCH` pattern, `ARGV[3]` the
/// `COUNT`, `ARGV[4]` `1` while the walk is not complete, `ARGV[5]` most
/// `SCAN`s, `ARGV[6]` keys enough to stop scanning, `ARGV[7]` the byte
/// budget of values, `ARGV[8]` `1` to read `PTTL`s, `ARGV[9..]` keys found
/// by earlier runs and not fetched yet.
///
/// Returns `{cursor, 1 while the walk is not complete, keys found by this
/// run, replies, pttls}`: one reply per key of `ARGV[9..]` then of the keys
/// found, in that order, up to where the budget ran out: the value, nil for
/// a key gone, or `{type}` for a key of another Redis type; `pttls` (when
/// asked) one per reply, `-2` where there is no value.
pub(crate) const SOURCE: &str = r"
local cursor, walking = ARGV[1], ARGV[4] == '1'
local most_scans, enough = tonumber(ARGV[5]), tonumber(ARGV[6])
local keys, found = {}, {}
for i = 9, #ARGV do keys[#keys + 1] = ARGV[i] end
local scans = 0
while walking and scans < most_scans and #keys < enough do
  local reply = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', ARGV[3])
  cursor, scans = reply[1], scans + 1
  walking = cursor ~= '0'
  for _, key in ipairs(reply[2]) do
    keys[#keys + 1] = key
    found[#found + 1] = key
  end
end
local values, pttls, bytes, budget = {}, {}, 0, tonumber(ARGV[7])
local with_ttls = ARGV[8] == '1'
for i, key in ipairs(keys) do
  if bytes >= budget then break end
  local value = redis.call('MGET', key)[1]
  local pttl = -2
  if value then
    bytes = bytes + #value
    if with_ttls then pttl = redis.call('PTTL', key) end
  else
    local kind = redis.call('TYPE', key)['ok']
    if kind ~= 'none' then value = {kind} end
  end
  values[i] = value
  if with_ttls then pttls[i] = pttl end
end
return {cursor, walking and 1 or 0, found, values, pttls}
";

static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCE));

/// What the script read of one key.
#[derive(Debug)]
pub(crate) enum Read {
    /// The string value.
    Value(Vec<u8>),
    /// No such key any more.
    Gone,
    /// A key of this other Redis type.
    OtherType(String),
}

/// One run's reply.
#[derive(Debug)]
pub(crate) struct Run {
    /// The next cursor, or `None` once the walk is complete.
    pub(crate) next: Option<u64>,
    /// The keys this run's `SCAN`s found, in their order.
    pub(crate) found: Vec<Vec<u8>>,
    /// One per key given then found, in that order, up to where the budget
    /// ran out (the rest are not fetched yet).
    pub(crate) fetched: Vec<Read>,
    /// The `PTTL` of each fetched key (`-2`: no value), or empty when not
    /// asked.
    pub(crate) pttls: Vec<i64>,
}

/// Runs the script: fetches `pending` (keys found before, in order), then
/// walks on from the cursor `at` if `walking`, matching `pattern`.
/// Read-only, so sent once more if the connection was found dropped.
pub(crate) async fn run(
    conn: &Conn,
    at: u64,
    walking: bool,
    pattern: &[u8],
    pending: &[&[u8]],
    ttls: Expiries,
) -> KvResult<Run> {
    let mut invocation = SCRIPT.prepare_invoke();
    invocation
        .arg(at)
        .arg(pattern)
        .arg(SCAN_COUNT)
        .arg(if walking { "1" } else { "0" })
        .arg(SCANS_PER_PAGE)
        .arg(PAGE_KEYS)
        .arg(PAGE_BYTES)
        .arg(if ttls == Expiries::Fetch { "1" } else { "0" });
    for raw in pending {
        invocation.arg(*raw);
    }
    let mut conn = conn.clone();
    let reply: Reply = match invocation.invoke_async(&mut conn).await {
        Err(e) if is_dropped(&e) => invocation.invoke_async(&mut conn).await,
        other => other,
    }
    .map_err(map)?;
    parse(reply)
        .ok_or_else(|| KvError::backend(BACKEND, "unexpected reply from the listing script"))
}

/// The script's reply read, `None` if it is not of the documented shape.
fn parse(reply: Reply) -> Option<Run> {
    let Reply::Array(parts) = reply else {
        return None;
    };
    let [cursor, walking, found, fetched, pttls]: [Reply; 5] = parts.try_into().ok()?;
    let cursor: u64 = std::str::from_utf8(&bytes(cursor)?).ok()?.parse().ok()?;
    let walking = matches!(walking, Reply::Int(1));
    let found = array(found)?
        .into_iter()
        .map(bytes)
        .collect::<Option<Vec<_>>>()?;
    let fetched = array(fetched)?
        .into_iter()
        .map(|reply| match reply {
            Reply::BulkString(value) => Some(Read::Value(value)),
            Reply::Nil | Reply::Boolean(false) => Some(Read::Gone),
            Reply::Array(kind) => {
                let [kind]: [Reply; 1] = kind.try_into().ok()?;
                Some(Read::OtherType(
                    String::from_utf8_lossy(&bytes(kind)?).into_owned(),
                ))
            }
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    let pttls = array(pttls)?
        .into_iter()
        .map(|reply| match reply {
            Reply::Int(ms) => Some(ms),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Run {
        next: walking.then_some(cursor),
        found,
        fetched,
        pttls,
    })
}

/// The elements of an array reply (an empty Lua table is an empty array).
fn array(reply: Reply) -> Option<Vec<Reply>> {
    match reply {
        Reply::Array(items) | Reply::Set(items) => Some(items),
        _ => None,
    }
}

/// The bytes of a string reply.
fn bytes(reply: Reply) -> Option<Vec<u8>> {
    match reply {
        Reply::BulkString(bytes) => Some(bytes),
        Reply::SimpleString(text) => Some(text.into_bytes()),
        _ => None,
    }
}
