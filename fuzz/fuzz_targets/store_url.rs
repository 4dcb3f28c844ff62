//! Store URL parsing (`crates/fedikv/src/open.rs` and each backend's
//! options): everything `fedikv::open` checks before it touches a file or
//! the network (rule O1's typed errors).
//!
//! Input: fields split by byte 0xFE (see `fedikv_fuzz::input`): a selector
//! byte, user, secret, host, path, query, raw URL. Checked:
//!
//! - the raw URL, and a URL built from the fields (a scheme the selector
//!   picks, `user:SECRET@host`, path, query, and the secret again as a
//!   `token=` or `password=` option), never panic;
//! - no error's `Display` or `Debug`, and no parsed KV Connect server's
//!   `DenoKvLocation` `Debug`, shows the secret: it starts with `hunter2`,
//!   which no other part of the URL may hold (their `h`s become `x`s, also
//!   percent-encoded ones).
#![no_main]

use fedikv::denokv::DenoKvLocation;
use fedikv::fuzzing::store_url::check;
use fedikv_fuzz::input::fields;
use libfuzzer_sys::fuzz_target;

/// Where the secret starts; no other part of a URL holds it.
const MARKER: &str = "hunter2";

/// Schemes the selector picks from, and whether they name a server (whose
/// URL's password is a credential).
const SCHEMES: &[(&str, bool)] = &[
    ("memory:", false),
    ("sqlite:", false),
    ("sqlite://", false),
    ("postgres://", true),
    ("postgresql://", true),
    ("mysql://", true),
    ("mariadb://", true),
    ("redis://", true),
    ("rediss://", true),
    ("redis+cluster://", true),
    ("rediss+cluster://", true),
    ("denokv:", false),
    ("denokv+http://", true),
    ("denokv+https://", true),
    ("ftp://", true),
];

fuzz_target!(|data: &[u8]| {
    let fields = fields(data);
    let field = |i: usize| {
        fields
            .get(i)
            .map(|f| String::from_utf8_lossy(f))
            .unwrap_or_default()
    };
    let raw = field(6);
    check(&raw).ok();
    fedikv::redact(&raw);

    let selector = fields[0].first().copied().unwrap_or(0);
    let (scheme, server) = SCHEMES[usize::from(selector) % SCHEMES.len()];
    // The marker only at the start: what an unescaped `@`, `?`, `&`, `#`...
    // in the rest of the secret ends it, as URLs are read, may show.
    let secret = format!("{MARKER}{}", harmless(&field(2)));
    // A user name with `/`, `?` or `#` (or `\`, a `/` in http URLs) would
    // end the authority before the password, and a `#` before an option
    // would make it a fragment: then the secret is no credential.
    let user = harmless(&field(1)).replace(['/', '\\', '?', '#'], "_");
    let rest = harmless(&format!("{}{}?{}", field(3), field(4), field(5))).replace('#', "%23");
    let mut url = scheme.to_owned();
    let in_userinfo = server && selector & 0x80 == 0;
    if in_userinfo {
        url.push_str(&format!("{user}:{secret}@"));
    }
    url.push_str(&rest);
    if !in_userinfo {
        let option = if selector & 0x40 == 0 {
            "token"
        } else {
            "password"
        };
        url.push_str(&format!("&{option}={secret}"));
    }
    if let Err(error) = check(&url) {
        assert_hidden(&format!("{error}"), &url);
        assert_hidden(&format!("{error:?}"), &url);
    }
    // A `denokv:PATH` URL takes all after the scheme as the file's path,
    // `?…` included: only a server's location could hide a token.
    if let Ok(location @ DenoKvLocation::Remote { .. }) = DenoKvLocation::parse_url(&url) {
        assert_hidden(&format!("{location:?}"), &url);
    }
});

/// `text` with every `h` (also percent-encoded) turned into `x`, so that it
/// cannot hold the [`MARKER`].
fn harmless(text: &str) -> String {
    text.replace(['h', 'H'], "x")
        .replace("%68", "%78")
        .replace("%48", "%78")
}

fn assert_hidden(shown: &str, url: &str) {
    assert!(
        !shown.to_ascii_lowercase().contains(MARKER),
        "{url:?} shows its secret: {shown}"
    );
}
