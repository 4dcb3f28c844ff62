//! Cloning and dropping values of any depth.
//!
//! `serde_json::Value`'s derived `Clone`, `Drop`, `PartialEq` and `Debug`
//! recurse once per nesting level, so a value nested some thousands deep (a
//! remote document any fediverse server can make Fedify cache) overflows a
//! 2 MiB thread stack. Library code that clones or drops stored values uses
//! these instead; both are as fast as the derived forms for ordinary values.

use std::sync::Arc;

use serde_json::{Map, Value};

/// Nesting depth up to which the derived, recursive forms are used.
const RECURSION_DEPTH: usize = 64;

/// A copy of `value`, for any nesting depth: `Value`'s own `clone` (which
/// copies a map's tree as it is, without re-sorting its keys) when the value
/// is no deeper than 64 levels, otherwise a heap-stack copy.
pub fn clone_deep(value: &Value) -> Value {
    if is_deeper_than(value, RECURSION_DEPTH) {
        clone_iterative(value)
    } else {
        value.clone()
    }
}

/// Clone with a heap stack: each container is rebuilt once all its children
/// are, children taken from the `done` stack.
fn clone_iterative(value: &Value) -> Value {
    enum Step<'a> {
        Visit(&'a Value),
        Array(usize),
        Object(&'a Map<String, Value>),
    }
    let mut steps = vec![Step::Visit(value)];
    let mut done: Vec<Value> = Vec::new();
    while let Some(step) = steps.pop() {
        match step {
            Step::Visit(Value::Array(items)) => {
                steps.push(Step::Array(items.len()));
                steps.extend(items.iter().rev().map(Step::Visit));
            }
            Step::Visit(Value::Object(map)) => {
                steps.push(Step::Object(map));
                steps.extend(map.values().rev().map(Step::Visit));
            }
            Step::Visit(scalar) => done.push(scalar.clone()),
            Step::Array(len) => {
                let items = done.split_off(done.len() - len);
                done.push(Value::Array(items));
            }
            Step::Object(map) => {
                let values = done.split_off(done.len() - map.len());
                done.push(Value::Object(map.keys().cloned().zip(values).collect()));
            }
        }
    }
    done.pop().unwrap_or(Value::Null)
}

/// Drops `value` without recursion, for any nesting depth.
pub fn drop_deep(value: Value) {
    if !is_deeper_than(&value, RECURSION_DEPTH) {
        return;
    }
    let mut pending = vec![value];
    while let Some(mut value) = pending.pop() {
        match &mut value {
            Value::Array(items) => pending.append(items),
            Value::Object(map) => pending.extend(std::mem::take(map).into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// Drops a shared value: when this is its last holder, the tree is dropped
/// as [`drop_deep`] drops it, for any nesting depth; otherwise only the
/// reference goes. Whoever holds an `Arc<Value>` from
/// [`KvStore::get_shared`](crate::KvStore::get_shared) that may be nested
/// thousands deep drops it this way.
///
/// ```
/// use std::sync::Arc;
/// let value = Arc::new(serde_json::json!({"a": [1, 2]}));
/// let kept = Arc::clone(&value);
/// fedikv::json::drop_shared(value);
/// assert_eq!(kept["a"][1], 2);
/// fedikv::json::drop_shared(kept);
/// ```
pub fn drop_shared(value: Arc<Value>) {
    if let Some(value) = Arc::into_inner(value) {
        drop_deep(value);
    }
}

/// Whether `value` nests more than `depth` levels (`[1]` is one level).
/// Recurses at most `depth` levels, allocating nothing, so it is safe on
/// any value for a small `depth` (a store's limit).
///
/// ```
/// use serde_json::json;
/// assert!(fedikv::json::is_deeper_than(&json!([[1]]), 1));
/// assert!(!fedikv::json::is_deeper_than(&json!([[1]]), 2));
/// ```
pub fn is_deeper_than(value: &Value, depth: usize) -> bool {
    let deeper = |child: &Value| depth > 0 && is_deeper_than(child, depth - 1);
    match value {
        Value::Array(items) => depth == 0 || items.iter().any(deeper),
        Value::Object(map) => depth == 0 || map.values().any(deeper),
        _ => false,
    }
}

/// `inner` wrapped in `depth` arrays, built without recursion (tests).
#[cfg(test)]
pub(crate) fn nested(depth: usize, inner: Value) -> Value {
    (0..depth).fold(inner, |v, _| Value::Array(vec![v]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::json_eq;
    use serde_json::json;

    fn nested_objects(depth: usize) -> Value {
        // Built by moving, not with json!, which serializes its arguments.
        (0..depth).fold(json!("leaf"), |v, i| {
            let mut map = Map::new();
            map.insert("k".into(), v);
            map.insert("i".into(), i.into());
            map.insert("list".into(), json!([i, null]));
            Value::Object(map)
        })
    }

    #[test]
    fn clones_and_drops_any_depth() {
        for depth in [0, 1, RECURSION_DEPTH, RECURSION_DEPTH + 1, 100_000] {
            let value = nested_objects(depth);
            let copy = clone_deep(&value);
            assert!(json_eq(&value, &copy), "depth {depth}");
            // Each object level also holds an array: depth + 1 levels.
            let levels = if depth == 0 { 0 } else { depth + 1 };
            assert_eq!(
                is_deeper_than(&value, RECURSION_DEPTH),
                levels > RECURSION_DEPTH
            );
            drop_deep(value);
            drop_deep(copy);
        }
    }

    #[test]
    fn clone_keeps_key_order_and_scalars() {
        let value = json!({"b": [1, 2.5, "x", true, null], "a": {"z": {}}});
        assert_eq!(clone_deep(&value), value);
        let deep = nested(RECURSION_DEPTH * 2, value.clone());
        let copy = clone_deep(&deep);
        let mut inner = &copy;
        while let Value::Array(items) = inner {
            inner = &items[0];
        }
        assert_eq!(inner, &value);
    }
}
