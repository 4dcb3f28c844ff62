//! Deep equality for `cas` (rule O4), iterative so any depth compares.

use serde_json::{Number, Value};

/// Deep JSON equality as rule O4 defines it for `cas`: object key order is
/// ignored, array order matters, numbers compare by numeric value (`1 == 1.0`),
/// and `null` equals only `null`.
///
/// This is the comparison of Fedify's `isEqual` and of PostgreSQL `jsonb =`.
/// `serde_json`'s own `==` differs on numbers (`1 != 1.0`) and recurses, so it
/// overflows the stack on values nested thousands deep; this walks with a
/// heap stack and compares values of any depth.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    let mut pending = vec![(a, b)];
    while let Some((a, b)) = pending.pop() {
        let same = match (a, b) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Number(x), Value::Number(y)) => number_eq(x, y),
            (Value::String(x), Value::String(y)) => x == y,
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && {
                    pending.extend(x.iter().zip(y));
                    true
                }
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter().all(|(k, v)| match y.get(k) {
                        Some(w) => {
                            pending.push((v, w));
                            true
                        }
                        None => false,
                    })
            }
            _ => false,
        };
        if !same {
            return false;
        }
    }
    true
}

/// `Option` form of [`json_eq`]: `None` (absent) equals only `None`.
pub fn json_opt_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => json_eq(a, b),
        _ => false,
    }
}

/// Whether a stored entry's decoded value (`None`: absent or expired)
/// deep-equals `expected`, as `cas` decides (rule O4); `current` is dropped
/// without recursion, whatever its depth.
pub(crate) fn current_matches(current: Option<Value>, expected: Option<&Value>) -> bool {
    let same = json_opt_eq(current.as_ref(), expected);
    if let Some(value) = current {
        super::drop_deep(value);
    }
    same
}

fn number_eq(x: &Number, y: &Number) -> bool {
    if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
        return x == y;
    }
    match (x.as_f64(), y.as_f64()) {
        // Integers beyond 2^53 lose precision as f64, exactly as in JavaScript
        // and in jsonb's numeric comparison of mixed forms.
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deep_equality() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(
            &json!({"a": 1, "b": [1, 2]}),
            &json!({"b": [1.0, 2], "a": 1})
        ));
        assert!(!json_eq(&json!([1, 2]), &json!([2, 1])));
        assert!(!json_eq(&json!(null), &json!(false)));
        assert!(!json_eq(&json!(0), &json!(false)));
        assert!(!json_eq(&json!(""), &json!(null)));
        assert!(!json_eq(&json!([]), &json!({})));
        assert!(!json_eq(&json!({"a": null}), &json!({})));
        assert!(json_eq(&json!(-3), &json!(-3.0)));
        assert!(!json_eq(&json!(u64::MAX), &json!(-1)));
        assert!(json_opt_eq(None, None));
        assert!(!json_eq(&json!([[1], [2]]), &json!([[1], [3]])));
        assert!(!json_opt_eq(None, Some(&json!(null))));
    }
}

#[cfg(test)]
mod deep_tests {
    use super::*;
    use crate::json::deep::{drop_deep, nested};

    #[test]
    fn compares_values_nested_a_hundred_thousand_deep() {
        let a = nested(100_000, Value::from(1));
        let b = nested(100_000, Value::from(1.0));
        let c = nested(100_000, Value::from(2));
        assert!(json_eq(&a, &b));
        assert!(!json_eq(&a, &c));
        for v in [a, b, c] {
            drop_deep(v);
        }
    }
}
