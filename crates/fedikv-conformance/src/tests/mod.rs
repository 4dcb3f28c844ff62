//! The conformance tests, one public `async fn(Arc<dyn KvStore>)` each.
//!
//! Each panics with a message naming the broken rule. They only touch keys
//! under their own [`Namespace`](crate::Namespace), so they can run in
//! parallel against one shared store.

mod get;
mod keys;

pub use get::*;
pub use keys::*;
