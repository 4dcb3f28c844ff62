//! Test data: special-character keys (K1, K2) and literal-prefix cases with
//! decoys (O5). Keys here are relative to a test's [`Namespace`](crate::Namespace).

/// A relative key: the components after the namespace's own.
pub(crate) type Rel = &'static [&'static str];

/// Components that naive encodings (LIKE patterns, globs, `:`-joined strings,
/// JSON text, collations) get wrong.
pub(crate) const TRICKY_COMPONENTS: &[&str] = &[
    "50%",
    "%",
    "snake_case",
    "_",
    "back\\slash",
    "\\",
    "\\\\",
    "say \"hi\"",
    "\"",
    "a:b",
    ":",
    "::",
    "a::b",
    "a:",
    ":b",
    "a_:",
    "_:",
    "a*",
    "*",
    "a?",
    "?",
    "[ab]",
    "[",
    "]",
    "^$.|+(){}",
    "line\nbreak",
    "\r\n",
    "\t",
    "\u{1}\u{1f}\u{7f}",
    "",
    " ",
    "trailing space ",
    "😀",
    "🏳️‍🌈",
    "café",
    "cafe\u{301}",
    "\u{2028}\u{2029}",
    "Prefix",
    "prefix",
    "PREFIX",
    "'; DROP TABLE fedify_kv; --",
    "https://example.com/users/alice?page=1#main-key",
    "a\",\"b",
    "[\"a\"]",
    "null",
    "/",
];

/// Pairs of distinct keys that naive encodings make collide (K2).
pub(crate) const DISTINCT_PAIRS: &[(Rel, Rel)] = &[
    (&["a:b"], &["a", "b"]),
    (&["a::b"], &["a", "b"]),
    (&["a", ""], &["a"]),
    (&["", "a"], &["a"]),
    (&["a", "", "b"], &["a", "b"]),
    (&["a:", "b"], &["a_", ":b"]),
    (&["a:", "b"], &["a", ":b"]),
    (&["a_:", "b"], &["a:", "b"]),
    (&["a\\:b"], &["a:b"]),
    (&["a/b"], &["a", "b"]),
    (&["a,b"], &["a", "b"]),
    (&["a\",\"b"], &["a", "b"]),
    (&["A"], &["a"]),
    (&["é"], &["e\u{301}"]),
    (&["a "], &["a"]),
    (&["a\n"], &["a"]),
];

/// A prefix, the keys that must be listed under it and decoys that must not.
pub(crate) struct PrefixCase {
    /// What the case is about, for failure messages.
    pub(crate) what: &'static str,
    pub(crate) prefix: Rel,
    /// Keys under the prefix (the prefix itself may be one).
    pub(crate) members: &'static [Rel],
    /// Keys that merely look similar.
    pub(crate) decoys: &'static [Rel],
}

/// One case per character class; every case's keys are written side by side,
/// so each case's decoys are also the other cases' neighbours.
pub(crate) const PREFIX_CASES: &[PrefixCase] = &[
    PrefixCase {
        what: "% is not a wildcard",
        prefix: &["50%"],
        members: &[&["50%", "off"], &["50%", "extra"]],
        decoys: &[&["50x", "off"], &["50%x"], &["500%", "off"], &["50"]],
    },
    PrefixCase {
        what: "_ is not a wildcard",
        prefix: &["snake_case"],
        members: &[&["snake_case", "key"]],
        decoys: &[&["snakeXcase", "k"], &["snake_case_", "k"], &["snake_cas"]],
    },
    PrefixCase {
        what: "\\ is an ordinary character",
        prefix: &["back\\slash"],
        members: &[&["back\\slash"], &["back\\slash", "key"]],
        decoys: &[
            &["back\\\\slash", "k"],
            &["backslash", "k"],
            &["back/slash"],
        ],
    },
    PrefixCase {
        what: "\" is an ordinary character",
        prefix: &["say \"hi\""],
        members: &[&["say \"hi\"", "k"]],
        decoys: &[
            &["say \\\"hi\\\"", "k"],
            &["say 'hi'", "k"],
            &["say \"hi\"\""],
        ],
    },
    PrefixCase {
        what: ": inside a component is not a separator",
        prefix: &["a:b"],
        members: &[&["a:b", "c"]],
        decoys: &[&["a", "b", "c"], &["a:bc"], &["a_:b"]],
    },
    PrefixCase {
        what: ":: inside a component is not a separator",
        prefix: &["x::y"],
        members: &[&["x::y"], &["x::y", "z"]],
        decoys: &[&["x", "y", "z"], &["x", "", "y"], &["x:", ":y"]],
    },
    PrefixCase {
        what: "a component ending in :",
        prefix: &["p:"],
        members: &[&["p:", "b"]],
        decoys: &[&["p_", ":b"], &["p", ":b"], &["p:b"], &["p_:", "b"]],
    },
    PrefixCase {
        what: "* is not a glob",
        prefix: &["s*"],
        members: &[&["s*", "x"]],
        decoys: &[&["sbc", "x"], &["s", "x"], &["s*b", "x"]],
    },
    PrefixCase {
        what: "? is not a glob",
        prefix: &["q?"],
        members: &[&["q?"], &["q?", "x"]],
        decoys: &[&["qb"], &["qb", "x"], &["q"]],
    },
    PrefixCase {
        what: "[...] is not a character class",
        prefix: &["[ab]"],
        members: &[&["[ab]", "x"]],
        decoys: &[&["a"], &["a", "x"], &["b", "x"], &["[ab]x"]],
    },
    PrefixCase {
        what: "] and ^ are ordinary characters",
        prefix: &["[^c]"],
        members: &[&["[^c]", "x"]],
        decoys: &[&["d", "x"], &["[^c]]"]],
    },
    PrefixCase {
        what: "newline is an ordinary character",
        prefix: &["line\nbreak"],
        members: &[&["line\nbreak", "k"]],
        decoys: &[
            &["line\\nbreak", "k"],
            &["line break", "k"],
            &["line\r\nbreak", "k"],
        ],
    },
    PrefixCase {
        what: "an empty component is a component",
        prefix: &["e", ""],
        members: &[&["e", ""], &["e", "", "b"], &["e", "", ""]],
        decoys: &[&["e"], &["e", "b"], &["e", " "]],
    },
    PrefixCase {
        what: "an empty first component",
        prefix: &[""],
        members: &[&[""], &["", "x"]],
        decoys: &[&["\"\""], &[" "]],
    },
    PrefixCase {
        what: "emoji compare exactly",
        prefix: &["😀"],
        members: &[&["😀", "🎉"]],
        decoys: &[&["😁", "x"], &["😀😀"]],
    },
    PrefixCase {
        what: "case is significant",
        prefix: &["Prefix"],
        members: &[&["Prefix", "a"]],
        decoys: &[&["prefix", "a"], &["PREFIX", "a"], &["prefix"]],
    },
    PrefixCase {
        what: "no Unicode normalization or accent folding",
        prefix: &["café"],
        members: &[&["café", "x"]],
        decoys: &[&["cafe\u{301}", "x"], &["cafe", "x"], &["CAFÉ", "x"]],
    },
    PrefixCase {
        what: "characters sorting next to the JSON separator",
        prefix: &["j"],
        members: &[&["j"], &["j", "b"], &["j", "\",\""]],
        decoys: &[
            &["j!"],
            &["j "],
            &["j-"],
            &["j+"],
            &["j,"],
            &["j\",\"b"],
            &["j\""],
            &["j]"],
            &["j\u{1}"],
            &["j\u{10ffff}"],
        ],
    },
    PrefixCase {
        what: "quotes that would close the SQL string",
        prefix: &["it's"],
        members: &[&["it's", "k"]],
        decoys: &[&["it''s", "k"], &["its", "k"]],
    },
];
