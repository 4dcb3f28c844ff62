//! `fedikv count [PREFIX]` and `fedikv stats [PREFIX] [--depth N]`: one scan
//! of the prefix, tallied in total or per group of keys, plus the store's
//! count of expired rows still stored.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};

use fedikv::{KvKey, KvRecord, KvStore};
use futures::StreamExt;
use serde::Serialize;

use super::skips::Skips;
use super::table::write_table;
use super::{flush, write_line};
use crate::cli::Format;
use crate::error::{CliError, Outcome};
use crate::input::parse_prefix;
use crate::progress::Progress;

/// The counts of one prefix.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Tally {
    /// Live entries.
    pub entries: u64,
    /// Live entries with a TTL.
    pub with_ttl: u64,
    /// Live entries without a TTL (they never expire).
    pub without_ttl: u64,
    /// Expired rows still stored, waiting for a sweep (`null` where the
    /// store cannot tell them apart per group: see [`Counts::run`]).
    pub expired_present: Option<u64>,
}

impl Tally {
    fn add(&mut self, record: &KvRecord) {
        self.entries += 1;
        match record.expires_in {
            Some(_) => self.with_ttl += 1,
            None => self.without_ttl += 1,
        }
    }
}

/// What a line of `count` or `stats` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The line of `count`, or a group of `stats`.
    Group,
    /// `stats`: the expired rows under the prefix that no group line counts
    /// (their group has no live entry, or is named by a shorter key), so
    /// that the groups and this line add up to the total.
    Other,
    /// `stats`: the total.
    Total,
}

/// One output line: a prefix and its counts.
#[derive(Serialize)]
struct Line<'a> {
    /// The prefix (`null`: the whole store).
    prefix: Option<&'a KvKey>,
    /// Whether this line is the total of `stats`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    total: bool,
    /// Whether this line holds the expired rows in no group of `stats`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    other: bool,
    #[serde(flatten)]
    tally: &'a Tally,
}

/// How `stats` groups keys.
#[derive(Debug, Clone, Copy)]
pub struct Grouping {
    /// How many leading key components name a group.
    pub depth: usize,
    /// The most groups `stats` keeps before it stops with an error.
    pub max_groups: usize,
}

/// A parsed `count` or `stats`.
#[derive(Debug)]
pub struct Counts {
    prefix: Option<KvKey>,
    /// `None` for `count`; the grouping of `stats`.
    grouping: Option<Grouping>,
    table: bool,
}

impl Counts {
    /// `count [PREFIX]`.
    pub fn count(prefix: Option<&str>, format: Format) -> Result<Self, CliError> {
        Ok(Self {
            prefix: prefix
                .map(|p| parse_prefix(p, "count"))
                .transpose()?
                .flatten(),
            grouping: None,
            table: format.is_table(),
        })
    }

    /// `stats [PREFIX] --depth N --max-groups M`.
    pub fn stats(
        prefix: Option<&str>,
        grouping: Grouping,
        format: Format,
    ) -> Result<Self, CliError> {
        if grouping.depth == 0 {
            return Err(CliError::new(
                "--depth must be 1 or more: the number of leading key components that make a group",
            ));
        }
        if grouping.max_groups == 0 {
            return Err(CliError::new(
                "--max-groups must be 1 or more: the most groups stats keeps",
            ));
        }
        Ok(Self {
            prefix: prefix
                .map(|p| parse_prefix(p, "stats"))
                .transpose()?
                .flatten(),
            grouping: Some(grouping),
            table: format.is_table(),
        })
    }

    /// Scans the prefix (memory grows with the number of groups, not of
    /// entries, and stops with an error past `max_groups` of them), then
    /// asks the store for its expired rows: for each group of `stats` whose
    /// keys all have `depth` or more components (a group named by a shorter
    /// key would count the expired rows of longer groups too, so it says
    /// `null`), then for the prefix. Every total of `stats` is the sum of
    /// its lines: expired rows that no group counts (a group with no live
    /// entry has no line) get one line of their own, `"other":true`. Rows
    /// that cannot be decoded are reported and not counted; then the
    /// command ends with an error saying how many.
    pub async fn run(self, store: &dyn KvStore, out: impl Write) -> Result<Outcome, CliError> {
        let bar = Progress::detect().counter("entries scanned");
        let mut total = Tally::default();
        let mut groups: BTreeMap<KvKey, Tally> = BTreeMap::new();
        // A group is never wider than the prefix: its expired rows are
        // counted over the group, which must lie inside what was scanned.
        let prefix_len = self.prefix.as_ref().map_or(0, KvKey::len);
        let depth = self.grouping.map(|g| g.depth.max(prefix_len));
        let max_groups = self.grouping.map_or(0, |g| g.max_groups);
        let skips = Skips::default();
        let mut records = store.scan(self.prefix.as_ref());
        while let Some(item) = records.next().await {
            let Some(record) = skips.pass(item, Some(&bar)) else {
                continue;
            };
            let record = record?;
            total.add(&record);
            if let Some(depth) = depth {
                let group = group_of(&record.key, depth)?;
                if groups.len() >= max_groups && !groups.contains_key(&group) {
                    return Err(CliError::new(format!(
                        "more than {max_groups} groups of {depth} key components under {}; \
                         use a smaller --depth, a longer prefix, or a larger --max-groups",
                        self.prefix
                            .as_ref()
                            .map_or_else(|| "[]".to_owned(), KvKey::to_json)
                    )));
                }
                groups.entry(group).or_default().add(&record);
            }
            bar.add(1);
        }
        drop(bar);
        let mut grouped_expired = 0;
        if let Some(depth) = depth {
            for (group, tally) in &mut groups {
                if group.len() >= depth {
                    let expired = store.count_expired(Some(group)).await?;
                    tally.expired_present = Some(expired);
                    grouped_expired += expired;
                }
            }
        }
        // Counted after the groups, so that rows expiring meanwhile can only
        // add to it; never less than the groups' sum, so that a sweep
        // meanwhile leaves the total equal to the sum of its lines.
        let expired = store
            .count_expired(self.prefix.as_ref())
            .await?
            .max(grouped_expired);
        total.expired_present = Some(expired);
        let other = Tally {
            expired_present: Some(expired - grouped_expired),
            ..Tally::default()
        };
        let mut lines: Vec<(Option<&KvKey>, Role, &Tally)> = groups
            .iter()
            .map(|(g, t)| (Some(g), Role::Group, t))
            .collect();
        if self.grouping.is_some() {
            if other.expired_present != Some(0) {
                lines.push((self.prefix.as_ref(), Role::Other, &other));
            }
            lines.push((self.prefix.as_ref(), Role::Total, &total));
        } else {
            lines.push((self.prefix.as_ref(), Role::Group, &total));
        }
        let mut out = BufWriter::new(out);
        if self.table {
            let rows: Vec<Vec<String>> = lines
                .iter()
                .map(|(prefix, role, tally)| table_row(*prefix, *role, tally))
                .collect();
            write_table(
                &mut out,
                &["PREFIX", "ENTRIES", "WITH_TTL", "NO_TTL", "EXPIRED_STORED"],
                &rows,
            )?;
        } else {
            for (prefix, role, tally) in lines {
                let line = serde_json::to_string(&Line {
                    prefix,
                    total: role == Role::Total,
                    other: role == Role::Other,
                    tally,
                })
                .map_err(|e| CliError::new(format!("cannot print counts: {e}")))?;
                if !write_line(&mut out, &line)? {
                    return skips.finish(Outcome::Success);
                }
            }
        }
        flush(&mut out)?;
        skips.finish(Outcome::Success)
    }
}

/// The first `depth` components of `key` (all of a shorter key).
fn group_of(key: &KvKey, depth: usize) -> Result<KvKey, CliError> {
    let components = &key.components()[..key.len().min(depth)];
    Ok(KvKey::new(components.iter().cloned())?)
}

fn table_row(prefix: Option<&KvKey>, role: Role, tally: &Tally) -> Vec<String> {
    let under = prefix
        .map(|p| format!(" {}", p.to_json()))
        .unwrap_or_default();
    let name = match (role, prefix) {
        (Role::Group, Some(p)) => p.to_json(),
        (Role::Group | Role::Total, _) => format!("total{under}"),
        (Role::Other, _) => format!("other{under} (expired, in no group above)"),
    };
    vec![
        name,
        tally.entries.to_string(),
        tally.with_ttl.to_string(),
        tally.without_ttl.to_string(),
        tally
            .expired_present
            .map_or_else(|| "-".to_owned(), |n| n.to_string()),
    ]
}
