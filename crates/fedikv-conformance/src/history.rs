//! Linearizability of a history of `get` and `cas` calls on one key (rule
//! O4), for the register that key is: every value written is unique, so the
//! successful swaps must form one chain — absent, the one claim that won,
//! each later swap from the value the previous one wrote, at most a final
//! delete — consistent with when each call ran, and every read and failed
//! swap must fit that chain.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

/// One call of a history: which task made it, when it was made and when it
/// returned (by the caller's clock), and what it did.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) task: usize,
    pub(crate) start: Instant,
    pub(crate) end: Instant,
    pub(crate) op: CallOp,
}

/// What a call did. Values are unique strings; `None` is "absent".
#[derive(Debug, Clone)]
pub(crate) enum CallOp {
    /// `get`, which returned `got`.
    Read { got: Option<String> },
    /// `cas(expected, new)`, which returned `swapped`.
    Cas {
        expected: Option<String>,
        new: Option<String>,
        swapped: bool,
    },
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.as_deref().unwrap_or("absent").to_owned();
        match &self.op {
            CallOp::Read { got } => write!(f, "task {}: get -> {}", self.task, show(got)),
            CallOp::Cas {
                expected,
                new,
                swapped,
            } => write!(
                f,
                "task {}: cas({} -> {}) -> {swapped}",
                self.task,
                show(expected),
                show(new)
            ),
        }
    }
}

/// Checks that `history` (every call on one key that started absent), and
/// `last`, what `get` returned after every call had returned, are a
/// linearizable history of a register written only through `cas`:
///
/// - exactly one `cas(absent -> v)` swapped (the claim), and a swap from a
///   value happened at most once per value (no lost update) and only from a
///   value some swap wrote; the swaps form one chain from the claim, which
///   at most a compare-and-delete ends;
/// - each swap in the chain returned no earlier than its predecessor started;
/// - every `get` returned a value that was current at some moment while it
///   ran, and no `cas` failed while its expected value was current all along;
/// - `last` is the value the chain ends with (absent after a delete).
pub(crate) fn check_register(history: &[Call], last: Option<&str>) -> Result<(), String> {
    let chain = chain(history)?;
    for pair in chain.windows(2) {
        if pair[1].end < pair[0].start {
            return Err(format!(
                "O4: `{}` returned before `{}`, which it swapped after, had started",
                pair[1], pair[0]
            ));
        }
    }
    let end = chain.last().and_then(|call| new_of(call));
    if last != end {
        return Err(format!(
            "O4: the swaps end with {}, but get returns {} afterwards",
            end.unwrap_or("absent"),
            last.unwrap_or("absent")
        ));
    }
    for call in history {
        match &call.op {
            CallOp::Read { got } => {
                let periods = periods(&chain, got.as_deref())
                    .ok_or_else(|| format!("O4: `{call}` read a value no swap wrote"))?;
                if !periods.iter().any(|p| p.overlaps(call)) {
                    return Err(format!(
                        "O4: `{call}` returned a value that was not current while it ran"
                    ));
                }
            }
            CallOp::Cas {
                expected,
                swapped: false,
                ..
            } => {
                let periods = periods(&chain, expected.as_deref()).unwrap_or_default();
                if periods.iter().any(|p| p.covers(call)) {
                    return Err(format!(
                        "O4: `{call}` failed although its expected value was current all the \
                         time it ran"
                    ));
                }
            }
            CallOp::Cas { swapped: true, .. } => {}
        }
    }
    Ok(())
}

/// A time a value was current: from the swap that wrote it (`None`: from
/// the start) to the swap that replaced it (`None`: to the end).
#[derive(Debug, Clone, Copy)]
struct Period<'a> {
    wrote: Option<&'a Call>,
    replaced: Option<&'a Call>,
}

impl Period<'_> {
    /// Whether the value may have been current at some moment of `call`.
    fn overlaps(&self, call: &Call) -> bool {
        self.wrote.is_none_or(|w| w.start < call.end)
            && self.replaced.is_none_or(|r| r.end > call.start)
    }

    /// Whether the value was current for all of `call`.
    fn covers(&self, call: &Call) -> bool {
        self.wrote.is_none_or(|w| w.end < call.start)
            && self.replaced.is_none_or(|r| r.start > call.end)
    }
}

/// When `value` was current along `chain`, or `None` when no swap wrote it.
/// Absent is current before the claim and after a final delete.
fn periods<'a>(chain: &[&'a Call], value: Option<&str>) -> Option<Vec<Period<'a>>> {
    let mut periods = Vec::new();
    let mut wrote: Option<&'a Call> = None;
    let mut current: Option<&str> = None;
    for &call in chain {
        if current == value {
            periods.push(Period {
                wrote,
                replaced: Some(call),
            });
        }
        wrote = Some(call);
        current = new_of(call);
    }
    if current == value {
        periods.push(Period {
            wrote,
            replaced: None,
        });
    }
    (!periods.is_empty()).then_some(periods)
}

/// The value a swap wrote (`None` for a compare-and-delete).
fn new_of(call: &Call) -> Option<&str> {
    match &call.op {
        CallOp::Cas { new, .. } => new.as_deref(),
        CallOp::Read { .. } => None,
    }
}

/// The successful swaps in chain order, or why they do not form one chain.
fn chain(history: &[Call]) -> Result<Vec<&Call>, String> {
    let mut from: BTreeMap<Option<&str>, &Call> = BTreeMap::new();
    let mut written: BTreeMap<&str, &Call> = BTreeMap::new();
    let mut swaps = 0;
    for call in history {
        let CallOp::Cas {
            expected,
            new,
            swapped: true,
        } = &call.op
        else {
            continue;
        };
        swaps += 1;
        if let Some(other) = from.insert(expected.as_deref(), call) {
            return Err(match expected {
                None => format!(
                    "O4: two claims of the absent key won: `{other}` and `{call}` (exactly one may)"
                ),
                Some(_) => format!(
                    "O4: lost update: `{other}` and `{call}` both swapped from the same value"
                ),
            });
        }
        if let Some(new) = new.as_deref()
            && written.insert(new, call).is_some()
        {
            return Err(format!("history: the value {new} was written twice"));
        }
    }
    let mut chain = Vec::with_capacity(swaps);
    let mut current: Option<&str> = None;
    while let Some(&call) = from.get(&current) {
        chain.push(call);
        current = new_of(call);
        if current.is_none() {
            break;
        }
    }
    if chain.len() < swaps {
        let orphan = history
            .iter()
            .find(|c| {
                matches!(c.op, CallOp::Cas { swapped: true, .. })
                    && !chain.iter().any(|k| std::ptr::eq(*k, *c))
            })
            .map_or_else(String::new, ToString::to_string);
        return Err(format!(
            "O4: `{orphan}` swapped from a value that was never current (the chain of swaps from \
             the claim has {} of the {swaps} swaps)",
            chain.len()
        ));
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Calls at ticks of a millisecond from a common origin.
    struct Clock(Instant);

    impl Clock {
        fn at(&self, tick: u64) -> Instant {
            self.0 + Duration::from_millis(tick)
        }

        fn cas(
            &self,
            span: (u64, u64),
            expected: Option<&str>,
            new: Option<&str>,
            ok: bool,
        ) -> Call {
            Call {
                task: 0,
                start: self.at(span.0),
                end: self.at(span.1),
                op: CallOp::Cas {
                    expected: expected.map(str::to_owned),
                    new: new.map(str::to_owned),
                    swapped: ok,
                },
            }
        }

        fn get(&self, span: (u64, u64), got: Option<&str>) -> Call {
            Call {
                task: 0,
                start: self.at(span.0),
                end: self.at(span.1),
                op: CallOp::Read {
                    got: got.map(str::to_owned),
                },
            }
        }
    }

    fn good(c: &Clock) -> Vec<Call> {
        vec![
            c.cas((0, 2), None, Some("claim-a"), true),
            c.cas((1, 3), None, Some("claim-b"), false),
            c.get((4, 5), Some("claim-a")),
            c.cas((6, 7), Some("claim-a"), Some("v1"), true),
            c.get((6, 8), Some("claim-a")),
            c.cas((9, 10), Some("claim-a"), Some("v2"), false),
            c.cas((11, 12), Some("v1"), None, true),
            c.get((13, 14), None),
        ]
    }

    #[test]
    fn a_linearizable_history_passes() {
        let c = Clock(Instant::now());
        check_register(&good(&c), None).unwrap();
    }

    #[test]
    fn every_violation_is_caught() {
        let c = Clock(Instant::now());
        let cases: Vec<(&str, Vec<Call>, Option<&str>)> = vec![
            ("final value", good(&c), Some("v1")),
            (
                "two claims win",
                vec![
                    c.cas((0, 1), None, Some("claim-a"), true),
                    c.cas((0, 1), None, Some("claim-b"), true),
                ],
                Some("claim-b"),
            ),
            (
                "lost update",
                vec![
                    c.cas((0, 1), None, Some("a"), true),
                    c.cas((2, 3), Some("a"), Some("b"), true),
                    c.cas((2, 3), Some("a"), Some("c"), true),
                ],
                Some("c"),
            ),
            (
                "swap from a value never written",
                vec![
                    c.cas((0, 1), None, Some("a"), true),
                    c.cas((2, 3), Some("x"), Some("b"), true),
                ],
                Some("b"),
            ),
            (
                "swap returned before its predecessor began",
                vec![
                    c.cas((5, 6), None, Some("a"), true),
                    c.cas((2, 3), Some("a"), Some("b"), true),
                ],
                Some("b"),
            ),
            (
                "stale read",
                vec![
                    c.cas((0, 1), None, Some("a"), true),
                    c.cas((2, 3), Some("a"), Some("b"), true),
                    c.get((4, 5), Some("a")),
                ],
                Some("b"),
            ),
            (
                "read of the future",
                vec![
                    c.get((0, 1), Some("a")),
                    c.cas((2, 3), None, Some("a"), true),
                ],
                Some("a"),
            ),
            (
                "spurious failure",
                vec![
                    c.cas((0, 1), None, Some("a"), true),
                    c.cas((2, 3), Some("a"), Some("b"), false),
                ],
                Some("a"),
            ),
            (
                "a claim fails on an absent key",
                vec![c.cas((0, 1), None, Some("a"), false)],
                None,
            ),
            (
                "a claim fails after the delete",
                vec![
                    c.cas((0, 1), None, Some("a"), true),
                    c.cas((2, 3), Some("a"), None, true),
                    c.cas((4, 5), None, Some("b"), false),
                ],
                None,
            ),
        ];
        for (what, history, last) in cases {
            assert!(
                check_register(&history, last).is_err(),
                "{what} was not caught"
            );
        }
    }
}
