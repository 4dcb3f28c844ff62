//! The conformance tests, one public `async fn(Arc<dyn KvStore>)` each, named
//! after the rule of `docs/contract.md` they check (`k1_…` keys, `v1_…` values, `o1_…`
//! operations, `s3_…` sweeping).
//!
//! Each panics with a message naming the broken rule. They only touch keys
//! under their own [`Namespace`](crate::Namespace), so they can run in
//! parallel against one shared store. Call them through
//! [`conformance_tests!`](crate::conformance_tests), or one by one.

mod cas;
mod cas_concurrency;
mod cas_fedify;
mod delete;
mod get;
mod javascript;
mod keys;
mod list;
mod list_prefix;
mod model;
mod scan;
mod set;
mod typed;
mod values;

pub use cas::*;
pub use cas_concurrency::*;
pub use cas_fedify::*;
pub use delete::*;
pub use get::*;
pub use javascript::*;
pub use keys::*;
pub use list::*;
pub use list_prefix::*;
pub use model::*;
pub use scan::*;
pub use set::*;
pub use typed::*;
pub use values::*;
