//! [`shell_quote`]: text as a POSIX shell reads it back, for messages that
//! show a raw key to paste into a command.

/// `text` quoted for a POSIX shell, so that pasting it gives back exactly
/// `text`: in single quotes when it holds no control character (a `'`
/// written `'\''`), otherwise in bash's `$'…'` with escapes, so the line
/// stays one line.
pub fn shell_quote(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return format!("'{}'", text.replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for c in text.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '\'' => out.push_str(r"\'"),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if c.is_control() && c.is_ascii() => out.push_str(&format!(r"\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!(r"\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_keys_are_quoted_for_the_shell_on_one_line() {
        assert_eq!(shell_quote(r#"["p",1]"#), r#"'["p",1]'"#);
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("{p,NULL}"), "'{p,NULL}'");
        assert_eq!(
            shell_quote("a\nb\t'\\\u{1}\u{85}é"),
            r"$'a\nb\t\'\\\x01\u0085é'"
        );
    }
}
