//! JSON values as Fedify stores them: text `JSON.parse` and `JSON.stringify`
//! agree on, of any nesting depth and with any JavaScript string.
//!
//! Values are `serde_json::Value`s everywhere in fedikv's API. This module
//! holds what `serde_json` does not do for them:
//!
//! - [`parse()`] and [`stringify()`]: JSON text with lone surrogates (see
//!   [`js`](crate::js)) and without a depth limit; [`write_to`] writes the
//!   text of [`stringify()`] to an `io::Write` without holding it whole;
//! - [`json_eq`]: the deep equality of `cas` (rule O4), for any depth;
//! - [`clone_deep`] and [`drop_deep`]: `Value`'s own `Clone`, `Drop`,
//!   `PartialEq` and `Debug` recurse once per level and overflow a 2 MiB
//!   stack around 10,000 levels of objects; use these (or a larger stack) for
//!   values that may be nested that deep, such as remote documents;
//!   [`drop_shared`] drops an `Arc<Value>` the same way when it is the last
//!   reference;
//! - [`JsonText`]: a value kept as its compact text, checked without a
//!   tree, for values too large to decode or that must pass through
//!   unchanged (`KvStore::get_json`, `set_json`, `scan_json`).

mod compact;
mod deep;
mod eq;
mod parse;
mod text;
mod write;

#[cfg(test)]
pub(crate) use deep::nested;

pub use deep::{clone_deep, drop_deep, drop_shared, is_deeper_than};
pub(crate) use eq::current_matches;
pub use eq::{json_eq, json_opt_eq};
pub(crate) use parse::is_plain_text;
pub use parse::{JsonError, parse};
pub use text::JsonText;
pub(crate) use write::{Surrogates, write_serializable, write_value};
pub use write::{stringify, with_lone_surrogates_replaced, write_to};

/// Texts that are not one JSON value, which [`parse()`] and
/// [`JsonText::from_text`] both refuse (their tests share it).
#[cfg(test)]
pub(crate) const NOT_JSON: &[&str] = &[
    "",
    " ",
    "[",
    "[1,]",
    "{\"a\"}",
    "{\"a\":1,}",
    "01",
    "1.",
    "-",
    "tru",
    "\"a",
    "\"\\x\"",
    "\"\\u12\"",
    "[1] 2",
    "{1:2}",
    "\"tab\there\"",
    "1e400",
    "NaN",
    "[}",
    "{]",
    "{\"a\" 1}",
    "[1 2]",
];
