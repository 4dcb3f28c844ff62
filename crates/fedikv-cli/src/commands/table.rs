//! Aligned text tables for people (`--format table`).

use std::io::Write;
use std::time::Duration;

use super::write_line;
use crate::error::CliError;

/// The widest a streamed cell is printed; longer text is cut with `…`.
pub const MAX_CELL: usize = 60;

/// `text` cut to at most `width` characters, ending in `…` when cut, with
/// line breaks shown as `⏎` so that each row stays one line.
pub fn cell(text: &str, width: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { '⏎' } else { c })
        .collect();
    if flat.chars().count() <= width {
        return flat;
    }
    let mut cut: String = flat.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A remaining TTL for people: `-` for none, else the two largest units
/// (`2d3h`, `1h30m`, `4m5s`, `1.25s`, `250ms`).
pub fn ttl_cell(ttl: Option<Duration>) -> String {
    let Some(ttl) = ttl else {
        return "-".to_owned();
    };
    let secs = ttl.as_secs();
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) if secs == 0 => format!("{}ms", ttl.as_millis()),
        (0, 0, 0) => format!("{:.2}s", ttl.as_secs_f64()),
        (0, 0, _) => format!("{m}m{s}s"),
        (0, _, _) => format!("{h}h{m}m"),
        _ => format!("{d}d{h}h"),
    }
}

/// Pads `text` with spaces to `width` characters.
fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(len)))
}

/// One row of cells padded to `widths` (the last cell is not padded).
/// Returns `Ok(false)` when the reader has gone away.
pub fn write_row(
    out: &mut impl Write,
    cells: &[String],
    widths: &[usize],
) -> Result<bool, CliError> {
    let last = cells.len().saturating_sub(1);
    let line: Vec<String> = cells
        .iter()
        .zip(widths)
        .enumerate()
        .map(|(i, (cell, &width))| {
            if i == last {
                cell.clone()
            } else {
                pad(cell, width)
            }
        })
        .collect();
    write_line(out, line.join("  ").trim_end())
}

/// A whole table: the header, then the rows, each column as wide as its
/// widest cell.
pub fn write_table(
    out: &mut impl Write,
    header: &[&str],
    rows: &[Vec<String>],
) -> Result<(), CliError> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    if !write_row(out, &header, &widths)? {
        return Ok(());
    }
    for row in rows {
        if !write_row(out, row, &widths)? {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_and_flattened() {
        assert_eq!(cell("short", 10), "short");
        assert_eq!(cell("a\nb", 10), "a⏎b");
        assert_eq!(cell("abcdefghij", 5), "abcd…");
        assert_eq!(cell("ééééé", 5), "ééééé");
    }

    #[test]
    fn ttls_for_people() {
        assert_eq!(ttl_cell(None), "-");
        assert_eq!(ttl_cell(Some(Duration::from_millis(250))), "250ms");
        assert_eq!(ttl_cell(Some(Duration::from_millis(1250))), "1.25s");
        assert_eq!(ttl_cell(Some(Duration::from_secs(245))), "4m5s");
        assert_eq!(ttl_cell(Some(Duration::from_secs(5400))), "1h30m");
        assert_eq!(
            ttl_cell(Some(Duration::from_secs(3 * 86_400 + 7200))),
            "3d2h"
        );
    }

    #[test]
    fn tables_align_columns() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["a".to_owned(), "1".to_owned()],
            vec!["long name".to_owned(), "22".to_owned()],
        ];
        write_table(&mut out, &["NAME", "N"], &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "NAME       N\na          1\nlong name  22\n");
    }
}
