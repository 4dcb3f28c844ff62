//! Durations: the longest TTL a write applies ([`MAX_TTL`]) and human
//! durations (`500ms`, `30s`, `5m`, `1h30m`, `1d`) for URLs and the CLI.

use std::time::Duration;

/// The longest TTL any fedikv store applies (rule O2): 365,000 days, about
/// 1,000 years. A longer TTL, up to `Duration::MAX`, is clamped to it on every
/// backend: the write succeeds and the entry expires `MAX_TTL` after it, and
/// `scan` reports at most `MAX_TTL` left.
///
/// Every backend can represent an expiry this far ahead: MariaDB's
/// `DATETIME` ends in the year 9999, PostgreSQL's `created + ttl`, Redis's
/// millisecond expiry times, Deno KV's and SQLite's epoch milliseconds and
/// JavaScript's `Date` (which Fedify reads them with) all reach further.
/// Stores apply it through [`SetOptions::effective_ttl`](crate::SetOptions::effective_ttl);
/// conformance test `o2_ttls_beyond_the_maximum_are_clamped`.
pub const MAX_TTL: Duration = Duration::from_secs(365_000 * 86_400);

/// Parses a duration made of one or more `<number><unit>` parts, with units
/// `ms`, `s`, `m`, `h` and `d` (e.g. `500ms`, `1h30m`). A bare number is
/// seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration; use e.g. 500ms, 30s, 5m, 1h30m or 1d".into());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_len = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - digits);
        let (number, unit) = (&rest[..digits], &rest[digits..digits + unit_len]);
        let n: u64 = number.parse().map_err(|_| {
            format!("invalid duration {text:?}; use e.g. 500ms, 30s, 5m, 1h30m or 1d")
        })?;
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            _ => {
                return Err(format!(
                    "invalid duration unit {unit:?} in {text:?}; use ms, s, m, h or d"
                ));
            }
        };
        total = total.saturating_add(part);
        rest = &rest[digits + unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1.5s").is_err());
    }
}
