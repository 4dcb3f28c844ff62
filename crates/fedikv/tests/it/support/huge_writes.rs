//! Values above `fedikv::redis::CHUNKED_ABOVE`, which the Redis store
//! writes in chunks through a temporary key and renames onto the entry's
//! key: the checks shared by one server and a Redis Cluster, given a raw
//! view of the server ([`Raw`]) to find the temporary keys.

use std::time::Duration;

use fedikv::json::JsonText;
use fedikv::redis::{CHUNKED_ABOVE, RedisKvStore, TEMPORARY_KEY_PREFIX};
use fedikv::{KvKey, KvStore, SetOptions};
use futures::TryStreamExt;
use serde_json::Value;

/// Bytes of JSON of the values written: above the threshold, and not a
/// whole number of 1 MiB chunks.
pub const HUGE: usize = CHUNKED_ABOVE + (1 << 20) + 12_345;

/// How long a temporary key may live (the store's `TEMPORARY_TTL_MS`).
const TEMPORARY_TTL: Duration = Duration::from_secs(60);

/// What the checks need from the server beside the store.
pub trait Raw: Sync {
    /// Every temporary key of a write to a key under the store prefix
    /// `prefix` (which holds no glob character).
    fn temporary_keys(&self, prefix: &str) -> Vec<Vec<u8>>;
    /// `PTTL` of `key`.
    fn pttl(&self, key: &[u8]) -> i64;
    /// `DEL` of `key`.
    fn delete(&self, key: &[u8]);
}

/// The `SCAN MATCH` pattern of [`Raw::temporary_keys`].
pub fn temporary_pattern(prefix: &str) -> String {
    format!("\\{TEMPORARY_KEY_PREFIX}*{prefix}*")
}

/// A JSON string of `len` bytes of text: `"` + `fill` repeated + `"`.
pub fn huge_text(len: usize, fill: char) -> JsonText {
    let mut text = String::with_capacity(len);
    text.push('"');
    text.extend(std::iter::repeat_n(fill, len - 2));
    text.push('"');
    JsonText::from_string(text).expect("a JSON string")
}

fn ttl(ttl: Duration) -> SetOptions {
    SetOptions::ttl(ttl)
}

/// The entry's value and TTL as `scan_json` reads it (the store's only
/// entry), checked to be what `get_json` reads.
async fn read(store: &RedisKvStore, key: &KvKey) -> (String, Option<Duration>) {
    let got = store.get_json(key).await.unwrap().expect("the entry");
    let listed: Vec<_> = store.scan_json(None).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1, "exactly the entry is listed");
    assert_eq!(&listed[0].key, key);
    assert_eq!(listed[0].value.as_str(), got.as_str());
    (got.into_string(), listed[0].expires_in)
}

/// Writes values above the threshold with and without TTL, through
/// `set_json` and `set`, over a small value, each other, and expiring
/// entries; each reads back intact with its TTL (none: persisted), and no
/// temporary key remains.
pub async fn round_trips(store: &RedisKvStore, raw: &impl Raw) {
    let key = KvKey::new(["huge", "k"]).unwrap();
    let hour = Duration::from_secs(3600);
    store
        .set(&key, &Value::from("small"), ttl(hour))
        .await
        .unwrap();

    let a = huge_text(HUGE, 'a');
    store
        .set_json(&key, a.clone(), SetOptions::default())
        .await
        .unwrap();
    let (value, expires_in) = read(store, &key).await;
    assert!(
        value == a.as_str(),
        "the value without TTL reads back intact"
    );
    assert_eq!(expires_in, None, "a set without TTL persists the entry");

    let b: Value = serde_json::from_str(huge_text(HUGE + 1, 'b').as_str()).unwrap();
    store.set(&key, &b, ttl(hour)).await.unwrap();
    let (value, expires_in) = read(store, &key).await;
    assert!(value.len() == HUGE + 1 && value[1..HUGE].bytes().all(|c| c == b'b'));
    let left = expires_in.expect("a set with TTL expires");
    assert!(
        left <= hour && left > hour - Duration::from_secs(60),
        "{left:?}"
    );

    let c = huge_text(HUGE - 7, 'c');
    store
        .set_json(&key, c.clone(), SetOptions::default())
        .await
        .unwrap();
    let (value, expires_in) = read(store, &key).await;
    assert!(value == c.as_str(), "an overwrite reads back intact");
    assert_eq!(expires_in, None, "the old TTL is gone");

    // Expires from the rename on (not read back: a loaded machine may
    // take longer than the TTL to do so).
    let short = Duration::from_millis(300);
    store.set_json(&key, a.clone(), ttl(short)).await.unwrap();
    tokio::time::sleep(short + Duration::from_millis(200)).await;
    assert!(store.get_json(&key).await.unwrap().is_none(), "expired");

    store.set_json(&key, c, ttl(hour)).await.unwrap();
    store.set_json(&key, a, ttl(Duration::ZERO)).await.unwrap();
    assert!(
        store.get_json(&key).await.unwrap().is_none(),
        "a zero TTL deletes"
    );
    assert_eq!(raw.temporary_keys(store.prefix()), Vec::<Vec<u8>>::new());
}

/// While values of two kinds are written over each other, concurrent
/// readers (`get_json` and `list`) only ever see one of them whole.
pub async fn readers_see_whole_values(store: &RedisKvStore, raw: &impl Raw) {
    const WRITES: usize = 12;
    let key = KvKey::new(["huge", "raced"]).unwrap();
    let values = [huge_text(HUGE, 'x'), huge_text(HUGE + 3, 'y')];
    store
        .set_json(&key, values[1].clone(), SetOptions::default())
        .await
        .unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let writer = async {
        for i in 0..WRITES {
            let options = if i % 2 == 0 {
                SetOptions::default()
            } else {
                ttl(Duration::from_secs(600))
            };
            store
                .set_json(&key, values[i % 2].clone(), options)
                .await
                .unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Release);
    };
    let whole = |text: &str| values.iter().any(|v| v.as_str() == text);
    let reader = async {
        let mut reads = 0;
        while !done.load(std::sync::atomic::Ordering::Acquire) {
            let got = store.get_json(&key).await.unwrap().expect("always there");
            assert!(whole(got.as_str()), "get read a partial value");
            let listed: Vec<_> = store.scan_json(None).try_collect().await.unwrap();
            assert_eq!(listed.len(), 1, "only the entry is listed");
            assert!(whole(listed[0].value.as_str()), "list read a partial value");
            reads += 1;
        }
        reads
    };
    let ((), reads) = tokio::join!(writer, reader);
    assert!(reads > 0);
    store.delete(&key).await.unwrap();
    assert_eq!(raw.temporary_keys(store.prefix()), Vec::<Vec<u8>>::new());
}

/// A write abandoned half-way (its future dropped) leaves the entry as it
/// was, and only a temporary key that no listing shows and that expires.
pub async fn abandoned_write_expires(store: &RedisKvStore, raw: &impl Raw) {
    let key = KvKey::new(["huge", "abandoned"]).unwrap();
    store
        .set(&key, &Value::from("before"), SetOptions::default())
        .await
        .unwrap();
    // 48 chunks: many round trips in which to see the temporary key.
    let value = huge_text(48 << 20, 'z');
    let write = store.set_json(&key, value, SetOptions::default());
    let seen = async {
        loop {
            let keys = raw.temporary_keys(store.prefix());
            if !keys.is_empty() {
                return keys;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    let temporary = tokio::select! {
        written = write => panic!("the write ended ({written:?}) before its temporary key was seen"),
        keys = seen => keys,
    };
    assert_eq!(temporary.len(), 1, "one temporary key per write");
    let pttl = raw.pttl(&temporary[0]);
    assert!(
        pttl > 0 && pttl <= TEMPORARY_TTL.as_millis() as i64,
        "the temporary key expires within a minute: PTTL {pttl}"
    );
    assert_eq!(
        store.get(&key).await.unwrap(),
        Some(Value::from("before")),
        "the entry is untouched"
    );
    let listed: Vec<_> = store.scan(None).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1, "the temporary key is not listed");
    assert_eq!(listed[0].key, key);
    raw.delete(&temporary[0]);
    store.delete(&key).await.unwrap();
}
