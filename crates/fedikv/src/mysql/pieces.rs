//! Values longer than [`PIECE_BYTES`] sent and read in pieces, so that the
//! client holds such a value about once (plus a few pieces) instead of the
//! three copies `mysql_async` makes of a statement's parameter or a row's
//! column (the parameter's value, the serialized packet, the connection's
//! write buffer; the read buffer, the packet, the row's value).
//!
//! - **Writes** build the value in the session variable
//!   [`VALUE_VARIABLE`]: `SET @v = ?` with the first piece, then
//!   `SET @v = CONCAT(@v, ?)` for each next one (pieces end on character
//!   boundaries), and the write statement takes `@v` where it would take
//!   `?`; the variable is set to `NULL` afterwards. Only that last statement
//!   changes the table, so the write stays atomic, and the text is kept
//!   until it ran, so it can be run again (deadlock, recreated table).
//! - **Reads** ask for the value only when it is at most [`PIECE_BYTES`]
//!   long (`NULL` otherwise, which a stored value never is); a longer one is
//!   read by a second statement as rows of [`Pieces::chars`] characters
//!   (`SUBSTRING` over a sequence of offsets), consumed one at a time. One
//!   statement reads one version of the row, so the pieces always belong
//!   together; if the row changed between the two statements, the second
//!   one reads its newer value, or nothing if it is gone.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::sql::Statements;

/// Values whose JSON text is longer than this (in bytes) are written in
/// pieces of at most this many bytes, and read in pieces.
pub(crate) const PIECE_BYTES: usize = 1 << 20;

/// The session variable a value written in pieces is built in.
pub(crate) const VALUE_VARIABLE: &str = "@fedikv_value";

/// At most this many pieces make a value: the sequence of offsets is a
/// recursive CTE, which MariaDB stops after `max_recursive_iterations`
/// (1,000 by default) and MySQL after `cte_max_recursion_depth` (1,000).
const MAX_PIECES: usize = 512;

/// How a server's longest value is read in pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pieces {
    /// Characters per piece read.
    pub(crate) chars: usize,
    /// Pieces of the longest value (`chars` characters each, one character
    /// being at least a byte).
    pub(crate) count: usize,
}

impl Pieces {
    /// The pieces of values up to `max_value_len` bytes: 2^20 characters
    /// each (1 MiB of ASCII, at most 4 MiB), more when that would make more
    /// than [`MAX_PIECES`].
    pub(crate) fn new(max_value_len: usize) -> Self {
        let chars = PIECE_BYTES.max(max_value_len.div_ceil(MAX_PIECES));
        Self {
            chars,
            count: max_value_len.div_ceil(chars).max(1),
        }
    }
}

/// `text` in pieces of at most `max` bytes (at least one character each),
/// each ending on a character boundary.
pub(crate) fn split(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = max.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end == 0 {
            // `max` is below the first character's length: take it whole.
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// Sets [`VALUE_VARIABLE`] to `text`, sent in pieces of [`PIECE_BYTES`].
pub(crate) async fn send(
    conn: &mut Conn,
    sql: &Statements,
    text: &str,
) -> Result<(), mysql_async::Error> {
    let mut statement = sql.start_value.as_str();
    for piece in split(text, PIECE_BYTES) {
        conn.exec_drop(statement, (piece,)).await?;
        statement = sql.append_value.as_str();
    }
    Ok(())
}

/// Sets [`VALUE_VARIABLE`] to `NULL`, freeing the server's copy.
pub(crate) async fn clear(conn: &mut Conn, sql: &Statements) -> Result<(), mysql_async::Error> {
    conn.query_drop(sql.clear_value.as_str()).await
}

/// The bytes of the live value under key text `key`, read in pieces (see
/// the module docs); `None` if there is no live row (anymore).
pub(crate) async fn read(
    conn: &mut Conn,
    sql: &Statements,
    key: &str,
) -> Result<Option<Vec<u8>>, mysql_async::Error> {
    let mut result = conn.exec_iter(sql.get_pieces.as_str(), (key,)).await?;
    let mut value: Option<Vec<u8>> = None;
    while let Some(mut row) = result.next().await? {
        // Moved out of the row, never converted: a piece is text.
        let piece = match row.take::<mysql_async::Value, _>(0) {
            Some(mysql_async::Value::Bytes(bytes)) => bytes,
            _ => Vec::new(),
        };
        match &mut value {
            Some(value) => value.extend_from_slice(&piece),
            None => value = Some(piece),
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_end_on_character_boundaries_and_join_to_the_text() {
        let text = "aé😀b€".repeat(5);
        for max in 1..=12 {
            let pieces: Vec<&str> = split(&text, max).collect();
            assert_eq!(pieces.concat(), text, "max {max}");
            for piece in &pieces {
                assert!(
                    !piece.is_empty() && (piece.len() <= max || piece.chars().count() == 1),
                    "max {max}: {piece:?}"
                );
            }
        }
        assert_eq!(split("", 4).count(), 0);
        assert_eq!(split("abcdefgh", 4).collect::<Vec<_>>(), ["abcd", "efgh"]);
    }

    #[test]
    fn pieces_stay_few() {
        let small = Pieces::new(16 << 20);
        assert_eq!(
            small,
            Pieces {
                chars: 1 << 20,
                count: 16
            }
        );
        let big = Pieces::new(1 << 30);
        assert!(big.count <= MAX_PIECES, "{big:?}");
        assert!(big.chars * big.count >= 1 << 30, "{big:?}");
        assert_eq!(Pieces::new(0).count, 1);
    }
}
