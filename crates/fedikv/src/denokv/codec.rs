//! Deno KV's key and value mapping, the `codec.rs` of every backend folder:
//! [`key`] maps a [`KvKey`](crate::KvKey) to Deno KV's own key encoding and
//! [`value`] maps JSON to V8's serialization format. Both are larger than
//! one file holds comfortably, so the codec is a folder of two.

pub(crate) mod key;
pub(crate) mod value;
