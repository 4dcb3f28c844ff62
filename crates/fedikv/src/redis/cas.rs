//! Atomic compare-and-swap with deep JSON equality (rule O4) on plain Redis
//! strings, which Fedify's store has no equivalent of.
//!
//! Redis can only compare bytes, while O4 compares JSON values (object key
//! order ignored, `1 == 1.0`), and Fedify writes `JSON.stringify` text that
//! may differ from fedikv's bytes for an equal value. So a Lua script swaps
//! only if the key still holds exactly the bytes fedikv *guesses* (first the
//! serialization of `expected`, which is what fedikv itself wrote for it),
//! and on a mismatch returns the bytes it found. fedikv then compares those
//! with `expected` as JSON: unequal means `false` (the script ran atomically,
//! so the comparison is as of that moment); equal means the bytes were just
//! spelled differently, and the script runs again with them as the guess. If
//! another writer keeps replacing the value with differently spelled equal
//! values, this gives up after [`MAX_ATTEMPTS`] with [`KvError::Contention`].
//!
//! Typical cost: one round trip, two for a value Fedify wrote.

use std::sync::LazyLock;

use redis::{Script, Value as Reply};
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::json::{self, current_matches};

use super::conn::Conn;
use super::error::{BACKEND, map};
use super::{Expiry, parse_value, wrong_type};

/// How many times the script runs before `cas` gives up.
pub(crate) const MAX_ATTEMPTS: u32 = 16;

/// `KEYS[1]`: the key. `ARGV[1]`: `1` if a value is expected, `0` if the key
/// must be absent. `ARGV[2]`: the exact bytes expected. `ARGV[3]`: `del`,
/// `set`, or a TTL in milliseconds for `SET ... PX`. `ARGV[4]`: the new bytes.
/// Returns 1 after swapping; on a mismatch the current bytes, or 0 when the
/// key is absent.
pub(crate) const SOURCE: &str = r"
local current = redis.call('GET', KEYS[1])
local matches
if ARGV[1] == '1' then
  matches = current == ARGV[2]
else
  matches = not current
end
if not matches then
  if current then return current end
  return 0
end
if ARGV[3] == 'del' then
  redis.call('DEL', KEYS[1])
elseif ARGV[3] == 'set' then
  redis.call('SET', KEYS[1], ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[3])
end
return 1
";

static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SOURCE));

/// What a successful swap does.
pub(crate) enum Swap {
    /// Delete the entry (`new = None`, or a zero TTL).
    Delete,
    /// Write these bytes with this expiry.
    Write(Vec<u8>, Expiry),
}

/// Swaps the entry under the Redis key `raw` to `swap` iff its
/// value deep-equals `expected` (`None`: absent). The script is sent once per
/// attempt and never resent after a dropped connection, since it may have run.
pub(crate) async fn cas(
    mut conn: Conn,
    raw: &[u8],
    expected: Option<&Value>,
    swap: Swap,
) -> KvResult<bool> {
    let mut guess = expected.map(|v| json::stringify(v).into_bytes());
    let (action, new): (String, &[u8]) = match &swap {
        Swap::Delete => ("del".into(), &[]),
        Swap::Write(bytes, Expiry::Never) => ("set".into(), bytes),
        Swap::Write(bytes, Expiry::Millis(ms)) => (ms.to_string(), bytes),
    };
    for _ in 0..MAX_ATTEMPTS {
        let reply: Reply = SCRIPT
            .key(raw)
            .arg(if guess.is_some() { "1" } else { "0" })
            .arg(guess.as_deref().unwrap_or_default())
            .arg(&action)
            .arg(new)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| wrong_type(raw, map(e)))?;
        match reply {
            Reply::Int(1) => return Ok(true),
            Reply::Int(0) => return Ok(false),
            Reply::BulkString(current) => {
                let Some(expected) = expected else {
                    return Ok(false);
                };
                let value = parse_value(raw, &current)?;
                if !current_matches(Some(value), Some(expected)) {
                    return Ok(false);
                }
                guess = Some(current);
            }
            other => {
                return Err(KvError::backend(
                    BACKEND,
                    format!("unexpected reply from the compare-and-swap script: {other:?}"),
                ));
            }
        }
    }
    Err(KvError::Contention {
        attempts: MAX_ATTEMPTS,
    })
}
