//! fedikv used the way Fedify uses its `KvStore`, on the keys Fedify uses:
//!
//! 1. a remote-document cache with a 5-minute TTL (`kvCache()`),
//! 2. an inbox idempotence marker whose key joins components with newlines,
//!    kept for a day,
//! 3. a one-time nonce consumed with compare-and-delete,
//! 4. a circuit-breaker record updated through a CAS retry loop
//!    ([`KvStoreExt::update`]),
//! 5. a prefix listing of everything the app stored.
//!
//! ```sh
//! cargo run --example fediverse_cache                       # sqlite:fedikv-example.sqlite3
//! cargo run --example fediverse_cache -- memory:
//! cargo run --all-features --example fediverse_cache -- postgres://postgres@127.0.0.1/test
//! ```
//!
//! Run it twice against the same store: the second run finds the cached
//! document and the idempotence marker of the first.

use std::error::Error;

#[path = "common/fediverse.rs"]
mod fediverse;

/// The store used when no URL is given on the command line.
const DEFAULT_STORE: &str = "sqlite:fedikv-example.sqlite3";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_STORE.to_owned());
    let store = fedikv::open(&url).await?;
    println!(
        "store: {} backend at {}\n",
        store.backend(),
        fedikv::redact(&url)
    );
    fediverse::run(store.as_ref()).await
}
