//! Writing a huge value in chunks through a temporary key, so that a write
//! costs the value plus a few chunks of memory instead of three copies of
//! the value.
//!
//! redis-rs copies a command's arguments into its `Cmd`, packs the `Cmd`
//! into a second buffer, and its codec copies that into the connection's
//! write buffer: one `SET` of a value holds three copies of it at once. So
//! a value above [`CHUNKED_ABOVE`] bytes is written in [`CHUNK_BYTES`]
//! pieces, each its own command, into a temporary key
//! ([`temporary_key`]), which [`COMMIT`] then renames onto the entry's key
//! in one atomic script that also sets the entry's expiry (`PEXPIRE`) or
//! removes the temporary key's (`PERSIST`). Readers see the old value until
//! the rename and the whole new one after it, never a part.
//!
//! The temporary key expires [`TEMPORARY_TTL_MS`] after its last chunk, so
//! a writer that stops half-way (a crash, a dropped future) leaves nothing
//! behind for long. Its name starts with `[`, which no store prefix may
//! contain, so no listing of any fedikv store ever sees it; on a Redis
//! Cluster it carries a hash tag of the entry key's slot, so that the
//! rename stays within one slot.
//!
//! Each chunk is written by [`CHUNK`], which writes its bytes at their
//! offset only while the temporary key exists: sending it twice writes the
//! same bytes again, so a chunk is resent once after a dropped connection
//! as `set` is, and a temporary key that vanished (expired, or lost in a
//! server restart or failover) is never recreated with a hole. The commit
//! is not resent: if it ran before the connection dropped, a second run
//! would find the temporary key gone and could not tell success from loss.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use redis::Script;
use redis::cluster_routing::Slot;

use crate::error::{KvError, KvResult};

use super::Expiry;
use super::conn::Conn;
use super::error::{BACKEND, map};

/// Values longer than this many bytes of JSON are written in chunks
/// through a temporary key (see `docs/backends.md`, Redis); shorter ones
/// with one `SET`, which holds three transient copies of the value.
pub const CHUNKED_ABOVE: usize = 4 << 20;

/// Bytes per chunk. Each chunk is copied four times on its way out
/// (`ScriptInvocation`, `Cmd`, packed command, write buffer), so a chunked
/// write holds the value plus about 4 MiB.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// How long the temporary key lives after its last chunk was written:
/// ample for the next chunk or the commit, each a round trip of at most
/// 1 MiB, and short enough that an abandoned write frees the server soon.
pub(crate) const TEMPORARY_TTL_MS: u64 = 60_000;

/// What the name of every temporary key of a chunked write starts with:
/// `[fedikv-partial:<random>]`, then on a cluster a hash tag, then the
/// entry's whole Redis key. `[` is a glob character, which a store prefix
/// may not contain, so no store's `list` ever sees a temporary key. Such a
/// key outlives its write by at most a minute (it expires).
pub const TEMPORARY_KEY_PREFIX: &str = "[fedikv-partial:";

/// `KEYS[1]`: the temporary key. `ARGV[1]`: the chunk's offset; `ARGV[2]`:
/// its bytes; `ARGV[3]`: the temporary key's TTL in milliseconds. The first
/// chunk (offset 0) creates the key; a later one is written only if the key
/// still holds at least the bytes before it. Returns 1, or 0 when the
/// temporary key is gone.
pub(crate) const CHUNK_SOURCE: &str = r"
if ARGV[1] == '0' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
if redis.call('STRLEN', KEYS[1]) < tonumber(ARGV[1]) then
  return 0
end
redis.call('SETRANGE', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

/// `KEYS[1]`: the temporary key; `KEYS[2]`: the entry's key. `ARGV[1]`: the
/// value's length; `ARGV[2]`: the entry's TTL in milliseconds, or empty for
/// none. Renames the temporary key onto the entry's (replacing whatever it
/// held) and sets its expiry, if the temporary key holds the whole value.
/// Returns 1, or 0 when the temporary key is gone or short.
pub(crate) const COMMIT_SOURCE: &str = r"
if redis.call('STRLEN', KEYS[1]) ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('RENAME', KEYS[1], KEYS[2])
if ARGV[2] == '' then
  redis.call('PERSIST', KEYS[2])
else
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
";

static CHUNK: LazyLock<Script> = LazyLock::new(|| Script::new(CHUNK_SOURCE));
static COMMIT: LazyLock<Script> = LazyLock::new(|| Script::new(COMMIT_SOURCE));

/// Writes `value` under the Redis key `raw` with `expiry`, in chunks (see
/// the module docs). On an error the temporary key is deleted (best
/// effort; it expires anyway). Errors: [`KvError::Unavailable`] when the
/// server cannot be reached or the temporary key vanished, and the errors
/// of `set`.
pub(crate) async fn write(conn: &Conn, raw: &[u8], value: &[u8], expiry: Expiry) -> KvResult<()> {
    let temporary = temporary_key(raw, conn.is_cluster())?;
    let written = write_through(conn, &temporary, raw, value, expiry).await;
    if written.is_err() {
        let _: KvResult<u64> = conn.query(redis::cmd("DEL").arg(&temporary)).await;
    }
    written
}

async fn write_through(
    conn: &Conn,
    temporary: &[u8],
    raw: &[u8],
    value: &[u8],
    expiry: Expiry,
) -> KvResult<()> {
    let ttl = TEMPORARY_TTL_MS.to_string();
    let mut offset = 0;
    for chunk in value.chunks(CHUNK_BYTES) {
        let mut invocation = CHUNK.key(temporary);
        invocation.arg(offset).arg(chunk).arg(&ttl);
        let written: u8 = conn.invoke(&invocation).await?;
        drop(invocation);
        if written == 0 {
            return Err(vanished(offset));
        }
        offset += chunk.len();
    }
    let ttl = match expiry {
        Expiry::Never => String::new(),
        Expiry::Millis(ms) => ms.to_string(),
    };
    let committed: u8 = COMMIT
        .key(temporary)
        .key(raw)
        .arg(value.len())
        .arg(ttl)
        .invoke_async(&mut conn.clone())
        .await
        .map_err(map)?;
    if committed == 0 {
        return Err(KvError::unavailable(
            BACKEND,
            "the value written in chunks was gone when it was to be stored (the server \
             restarted or failed over, or the final step ran twice after a dropped \
             connection); it may or may not be stored: write it again",
        ));
    }
    Ok(())
}

fn vanished(offset: usize) -> KvError {
    KvError::unavailable(
        BACKEND,
        format!(
            "the value being written in chunks vanished from the server after {offset} bytes \
             (it restarted or failed over, or the write stalled for over {} s); nothing was \
             stored: write it again",
            TEMPORARY_TTL_MS / 1000
        ),
    )
}

/// A new temporary key for a write to the Redis key `raw`:
/// `[fedikv-partial:<random>]` then, on a cluster, a hash tag `{n}` of
/// `raw`'s slot, then `raw` itself (so that an operator sees which entry
/// it was for).
pub(crate) fn temporary_key(raw: &[u8], cluster: bool) -> KvResult<Vec<u8>> {
    let mut name = String::with_capacity(TEMPORARY_KEY_PREFIX.len() + 32);
    let _ = write!(name, "{TEMPORARY_KEY_PREFIX}{:016x}]", random_token());
    if cluster {
        let tag = slot_tag(Slot::for_key(raw)).ok_or_else(|| {
            KvError::backend(BACKEND, "no hash tag found for the key's cluster slot")
        })?;
        let _ = write!(name, "{{{tag}}}");
    }
    let mut key = name.into_bytes();
    key.extend_from_slice(raw);
    Ok(key)
}

/// 64 random bits, different for every call in any process.
fn random_token() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // RandomState's keys are random per thread (from the OS), so two
    // processes, or two threads, hash the same input differently.
    RandomState::new().hash_one((std::process::id(), nanos, call))
}

/// The smallest number whose decimal text hashes to `slot`, for a hash tag
/// (`{n}` is hashed as `n`). Every slot has one below [`MAX_TAG`] (see the
/// tests); the table is built on first use (about 150,000 CRC16s, a few
/// milliseconds, 16,384 entries).
fn slot_tag(slot: Slot) -> Option<u32> {
    static TAGS: LazyLock<HashMap<Slot, u32>> = LazyLock::new(|| {
        let mut tags = HashMap::with_capacity(SLOTS);
        let mut text = String::new();
        for n in 0..MAX_TAG {
            text.clear();
            let _ = write!(text, "{n}");
            tags.entry(Slot::for_key(&text)).or_insert(n);
            if tags.len() == SLOTS {
                break;
            }
        }
        tags
    });
    TAGS.get(&slot).copied()
}

/// Redis Cluster's number of hash slots.
const SLOTS: usize = 16384;

/// Where the search for slot tags stops (never reached: see the tests).
const MAX_TAG: u32 = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::codec::KeyCodec;

    #[test]
    fn every_slot_has_a_tag() {
        for n in 0..u16::try_from(SLOTS).unwrap() {
            let slot = Slot::new(n).unwrap();
            let tag = slot_tag(slot).unwrap_or_else(|| panic!("no tag for slot {n}"));
            assert!(tag < MAX_TAG);
            assert_eq!(Slot::for_key(tag.to_string()), slot, "slot {n}");
        }
    }

    /// On a cluster the temporary key is in the entry key's slot, whatever
    /// braces the key holds; on one server it carries no tag.
    #[test]
    fn temporary_keys_share_the_slot_of_their_entry() {
        for raw in [
            &b"fedify::a::b"[..],
            b"fedify::{user1}::x",
            b"fedify::a}b{",
            b"fedify::{}::{x}",
            b"fedify::}{",
            b"fedify::{",
            b"",
        ] {
            let temporary = temporary_key(raw, true).unwrap();
            assert_eq!(
                Slot::for_key(&temporary),
                Slot::for_key(raw),
                "{}",
                String::from_utf8_lossy(&temporary)
            );
            assert!(temporary.ends_with(raw));
            let single = temporary_key(raw, false).unwrap();
            assert!(!single.contains(&b'{') || raw.contains(&b'{'));
        }
    }

    /// A temporary key starts with `[`, which no prefix may hold, so no
    /// store's `SCAN MATCH <prefix>*` pattern matches it.
    #[test]
    fn temporary_keys_are_outside_every_prefix() {
        let temporary = temporary_key(b"fedify::k", false).unwrap();
        assert!(temporary.starts_with(TEMPORARY_KEY_PREFIX.as_bytes()));
        assert!(temporary.starts_with(b"["));
        assert!(KeyCodec::new("[").is_err());
        assert!(KeyCodec::new(TEMPORARY_KEY_PREFIX).is_err());
    }

    #[test]
    fn temporary_keys_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(temporary_key(b"k", false).unwrap()));
        }
    }
}
