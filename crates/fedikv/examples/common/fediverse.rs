//! The fediverse cache scenario both examples run (`fediverse_cache`,
//! `observability`): fedikv used the way Fedify uses its `KvStore`, on the
//! keys Fedify uses.

use std::error::Error;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fedikv::{KvKey, KvStore, KvStoreExt, SetOptions};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Fedify's default TTL of cached remote documents.
const DOCUMENT_TTL: Duration = Duration::from_secs(5 * 60);
/// Fedify's TTL of inbox idempotence markers.
const IDEMPOTENCE_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Fedify's default TTL of Accept-Signature nonces.
const NONCE_TTL: Duration = Duration::from_secs(300);
/// How long circuit-breaker state is kept.
const CIRCUIT_TTL: Duration = Duration::from_secs(30 * 60);
/// Failures that open the circuit.
const FAILURE_THRESHOLD: usize = 3;

/// Runs the five steps on `store`, printing what happens.
pub async fn run(store: &dyn KvStore) -> Result<(), Box<dyn Error>> {
    println!("1. remote-document cache (TTL 5 min)");
    for _ in 0..2 {
        let document = load_document(store, "https://example.com/users/alice").await?;
        println!(
            "   -> {} ({})",
            document["document"]["name"], document["documentUrl"]
        );
    }

    println!("\n2. inbox idempotence (TTL 1 day)");
    let activity = "https://remote.example/activities/42";
    for attempt in 1..=2 {
        let processed =
            receive_activity(store, activity, "https://example.com/users/alice").await?;
        let outcome = if processed {
            "processed"
        } else {
            "duplicate, skipped"
        };
        println!("   delivery {attempt} of {activity}: {outcome}");
    }

    println!("\n3. one-time nonce, consumed with compare-and-delete");
    let nonce = KvKey::new(["_fedify", "acceptSignatureNonce", &fresh_nonce()])?;
    store
        .set(&nonce, &json!(true), SetOptions::ttl(NONCE_TTL))
        .await?;
    for attempt in 1..=2 {
        // cas(key, true, None): delete the nonce only if it is still there.
        let consumed = store
            .cas(&nonce, Some(&json!(true)), None, SetOptions::default())
            .await?;
        let outcome = if consumed {
            "accepted"
        } else {
            "rejected (replayed)"
        };
        println!(
            "   signature {attempt} with nonce {}: {outcome}",
            nonce.components()[2]
        );
    }

    println!("\n4. circuit breaker for remote.example (CAS retry loop)");
    let circuit = KvKey::new(["_fedify", "circuit", "remote.example"])?;
    for _ in 0..FAILURE_THRESHOLD {
        let state = record_failure(store, &circuit).await?;
        println!(
            "   delivery failed: {} failure(s) in the window, circuit {}",
            state.failures.len(),
            state.state
        );
    }

    println!("\n5. everything under [\"_fedify\"]");
    let prefix = KvKey::new(["_fedify"])?;
    let mut entries = store.list(Some(&prefix));
    while let Some(entry) = entries.next().await {
        let entry = entry?;
        let value = entry.value.to_string();
        let shown: String = value.chars().take(60).collect();
        let more = if value.len() > shown.len() { "..." } else { "" };
        println!("   {} = {shown}{more}", entry.key);
    }
    Ok(())
}

/// A remote document: from the cache when it is there, else "fetched" and
/// cached for five minutes (what Fedify's `kvCache()` does).
async fn load_document(store: &dyn KvStore, url: &str) -> Result<Value, Box<dyn Error>> {
    let key = KvKey::new(["_fedify", "remoteDocument", url])?;
    if let Some(document) = store.get(&key).await? {
        println!("   cache hit:  {url}");
        return Ok(document);
    }
    println!("   cache miss: {url}, fetching");
    let document = json!({
        "contextUrl": null,
        "documentUrl": url,
        "document": {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": url,
            "type": "Person",
            "name": "Alice",
            "inbox": format!("{url}/inbox"),
        },
    });
    store
        .set(&key, &document, SetOptions::ttl(DOCUMENT_TTL))
        .await?;
    Ok(document)
}

/// Processes an inbox activity once: Fedify's per-inbox idempotence key is
/// `origin \n activity id \n "inbox" \n recipient`, one key component with
/// newlines. Returns whether the activity was processed (not a duplicate).
async fn receive_activity(
    store: &dyn KvStore,
    activity: &str,
    recipient: &str,
) -> Result<bool, Box<dyn Error>> {
    let marker = format!("https://remote.example\n{activity}\ninbox\n{recipient}");
    let key = KvKey::new(["_fedify", "activityIdempotence", &marker])?;
    // Claim the marker atomically: only one delivery of the activity wins,
    // even when two arrive at once.
    let first = store
        .cas(
            &key,
            None,
            Some(&json!(true)),
            SetOptions::ttl(IDEMPOTENCE_TTL),
        )
        .await?;
    Ok(first)
}

/// Circuit-breaker state, as Fedify stores it (simplified).
#[derive(Debug, Default, Serialize, Deserialize)]
struct CircuitState {
    /// "closed" (deliver), "open" (hold deliveries).
    state: String,
    /// When recent failures happened, epoch milliseconds.
    failures: Vec<u64>,
}

/// Records a delivery failure with a read-modify-write CAS loop: concurrent
/// workers never lose each other's updates.
async fn record_failure(store: &dyn KvStore, key: &KvKey) -> Result<CircuitState, Box<dyn Error>> {
    let now = now_ms();
    let written = store
        .update(key, SetOptions::ttl(CIRCUIT_TTL), |current| {
            let mut state: CircuitState = current
                .and_then(|value| serde_json::from_value(value.clone()).ok())
                .unwrap_or_default();
            state.failures.push(now);
            let keep = state.failures.len().saturating_sub(FAILURE_THRESHOLD);
            state.failures.drain(..keep);
            state.state = if state.failures.len() >= FAILURE_THRESHOLD {
                "open".into()
            } else {
                "closed".into()
            };
            serde_json::to_value(&state).ok()
        })
        .await?;
    Ok(written
        .and_then(|value| serde_json::from_value(value).ok())
        .unwrap_or_default())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// A nonce unique enough for the example (Fedify uses 16 random bytes).
fn fresh_nonce() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}-{}", std::process::id())
}
