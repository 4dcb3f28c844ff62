//! Peak memory of `fedikv set`, `get` and `list` with a 64 MiB value, read
//! from each child process's own resource usage (`wait4`'s `ru_maxrss`):
//! at most the run's baseline (the same binary and store reading an absent
//! key) plus the bound of docs/layouts.md ("Memory of huge values") times
//! the value's size. A regression that keeps one more copy of the value
//! fails it.
//!
//! Two shapes of value: one big string, whose decoded `serde_json::Value`
//! is as large as its text, and an array of about 1 KiB documents, whose
//! `Value` would be about 3.7 times its text (a `BTreeMap` node per object,
//! a heap block per string). The CLI passes values as JSON text
//! (`KvStore::get_json`, `set_json`, `scan_json`) and never builds a
//! `Value`, so both shapes have the same bounds: a `Value` built anywhere
//! on the way fails the documents' bound.
//!
//! SQLite always runs. PostgreSQL, MySQL/MariaDB and Redis run when
//! `FEDIKV_TEST_POSTGRES_URL`, `FEDIKV_TEST_MYSQL_URL` and
//! `FEDIKV_TEST_REDIS_URL` are set; a server that is not set is reported on
//! stderr as not measured, and fails the test under
//! `FEDIKV_TEST_REQUIRE_SERVERS=1` (CI). On MySQL, whose limit is the
//! server's `max_allowed_packet`, the 64 MiB value must be refused before
//! it is sent, and the value measured is 1 MiB under that limit.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// Size of the measured value's JSON text.
const VALUE_BYTES: usize = 64 << 20;

/// The smallest value measured (MySQL's limit may be lower than
/// [`VALUE_BYTES`]): below it, fixed buffers blur the copies.
const MIN_MEASURED_BYTES: usize = 8 << 20;

/// What a run may use beyond its baseline and bound, for the allocator's
/// and the driver's fixed buffers.
const SLACK_BYTES: u64 = 12 << 20;

/// A backend under test: its store URL and its bounds, in multiples of the
/// value's size, for `[set, get, list]` of the big string and of the
/// documents: the ratios of docs/layouts.md ("Memory of huge values",
/// 200 MB values, release build) and of this test (64 MiB, debug build),
/// whichever is higher, plus about 0.3 of headroom.
struct Backend {
    name: &'static str,
    url: String,
    string_bounds: [f64; 3],
    documents_bounds: [f64; 3],
}

const COMMANDS: [&str; 3] = ["set", "get", "list"];

/// A value's JSON text in a file, exactly as `fedikv get` prints it back
/// (compact, the stored text itself), and a name for messages. The text is
/// written in pieces and never held whole: see [`own_peak`].
struct Shape {
    name: &'static str,
    path: PathBuf,
    len: u64,
}

impl Shape {
    fn string(dir: &Path, bytes: usize) -> Self {
        let chunk = "a".repeat(1 << 16);
        Self::write(dir, "one big string", |out| {
            out.write_all(b"\"")?;
            let mut left = bytes - 2;
            while left > 0 {
                let n = left.min(chunk.len());
                out.write_all(&chunk.as_bytes()[..n])?;
                left -= n;
            }
            out.write_all(b"\"")
        })
    }

    /// An array of ActivityPub-like documents of about 1 KiB each, their
    /// members in the order PostgreSQL's `jsonb` keeps (shorter keys first,
    /// then bytewise), so that every backend prints them back as written.
    fn documents(dir: &Path, bytes: usize) -> Self {
        let body = "lorem ipsum dolor sit amet ".repeat(30);
        Self::write(dir, "about 1 KiB documents", |out| {
            out.write_all(b"[")?;
            let mut written = 1;
            let mut i = 0;
            while written + 1200 < bytes {
                let separator = if i > 0 { "," } else { "" };
                let document = format!(
                    r##"{separator}{{"n":{i},"id":"https://example.com/objects/{i}","to":["https://www.w3.org/ns/activitystreams#Public"],"tag":[{{"name":"#rust","type":"Hashtag"}},{{"href":"https://example.com/users/bob","type":"Mention"}}],"type":"Note","content":"<p>{body}</p>","sensitive":false,"attributedTo":"https://example.com/users/alice"}}"##
                );
                out.write_all(document.as_bytes())?;
                written += document.len();
                i += 1;
            }
            out.write_all(b"]")
        })
    }

    fn write(
        dir: &Path,
        name: &'static str,
        text: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
    ) -> Self {
        let path = dir.join("value.json");
        let mut out = BufWriter::new(File::create(&path).expect("create the value file"));
        text(&mut out)
            .and_then(|()| out.flush())
            .expect("write the value file");
        let len = std::fs::metadata(&path).expect("the value file").len();
        Self { name, path, len }
    }

    /// Whether `file` holds `head`, this value's text, then `tail`.
    fn printed(&self, file: &Path, head: &str, tail: &str) -> bool {
        let expected_len = head.len() as u64 + self.len + tail.len() as u64;
        if std::fs::metadata(file).map(|m| m.len()).ok() != Some(expected_len) {
            return false;
        }
        let mut printed = BufReader::new(File::open(file).expect("open stdout"));
        let value = BufReader::new(File::open(&self.path).expect("open the value file"));
        let mut expected = head.as_bytes().chain(value).chain(tail.as_bytes());
        let (mut a, mut b) = (vec![0; 1 << 16], vec![0; 1 << 16]);
        loop {
            let n = expected.read(&mut a).expect("read the value file");
            if n == 0 {
                return true;
            }
            printed.read_exact(&mut b[..n]).expect("read stdout");
            if a[..n] != b[..n] {
                return false;
            }
        }
    }
}

/// A finished child: exit code, peak resident memory, where its stdout
/// is, and its stderr.
struct Run {
    code: i32,
    peak: u64,
    stdout: PathBuf,
    stderr: String,
}

/// Runs `fedikv --store URL ARGS`, stdin from `input` (or empty), and reaps
/// it with `wait4` for its own peak RSS.
fn fedikv(dir: &Path, url: &str, args: &[&str], input: Option<&Path>) -> Run {
    let stdout = dir.join("stdout");
    let err = dir.join("stderr");
    let stdin = match input {
        Some(path) => Stdio::from(File::open(path).expect("open the value file")),
        None => Stdio::null(),
    };
    let child = Command::new(env!("CARGO_BIN_EXE_fedikv"))
        .arg("--store")
        .arg(url)
        .args(args)
        .stdin(stdin)
        .stdout(File::create(&stdout).expect("create the stdout file"))
        .stderr(File::create(&err).expect("create the stderr file"))
        .spawn()
        .expect("start fedikv");
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    let mut status = 0;
    // SAFETY: rusage is plain old data, for which all zeros is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not waited for yet (`child` is never
    // waited on: dropping a `Child` does not wait), and both pointers are
    // to live locals.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", io::Error::last_os_error());
    drop(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // Linux reports ru_maxrss in KiB.
    let peak = u64::try_from(usage.ru_maxrss).expect("a peak is positive") * 1024;
    Run {
        code,
        peak,
        stdout,
        stderr: std::fs::read_to_string(&err).expect("read stderr"),
    }
}

/// This test process's own peak RSS (`VmHWM`). Linux starts a child's
/// `ru_maxrss` at its parent's peak (the memory it was spawned from counts
/// until `exec`), so a child's peak is its own only while it exceeds this:
/// the test writes and compares values in pieces to stay small, and checks
/// that it did.
fn own_peak() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("VmHWM in /proc/self/status");
    kib * 1024
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}

/// A prefix and a key under it that no other test or run uses, as the CLI
/// takes them.
fn unique_key() -> (String, String) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let id = format!("{}-{nanos}", std::process::id());
    (
        format!(r#"["fedikv-huge-values","{id}"]"#),
        format!(r#"["fedikv-huge-values","{id}","v"]"#),
    )
}

/// Sets, gets and lists `shape` on `backend`, checks what comes back and
/// that each peak stays within its bound; returns the report lines.
fn measure(dir: &Path, backend: &Backend, shape: &Shape, bounds: [f64; 3]) -> Vec<String> {
    let url = backend.url.as_str();
    let (prefix, key) = unique_key();
    let baseline = fedikv(dir, url, &["get", &key], None);
    assert_eq!(
        baseline.code, 1,
        "{}: get of an absent key: {}",
        backend.name, baseline.stderr
    );
    let parent = own_peak();
    assert!(
        parent < baseline.peak,
        "this test process peaked at {:.1} MiB, above fedikv's baseline of {:.1} MiB, which it would hide (a child's ru_maxrss starts at its parent's peak); run this test in a process of its own",
        mib(parent),
        mib(baseline.peak)
    );
    let mut report = Vec::new();
    for (command, bound) in COMMANDS.into_iter().zip(bounds) {
        let run = match command {
            "set" => fedikv(dir, url, &["set", &key, "-"], Some(&shape.path)),
            "get" => fedikv(dir, url, &["get", &key], None),
            _ => fedikv(dir, url, &["list", &prefix], None),
        };
        assert_eq!(run.code, 0, "{} {command}: {}", backend.name, run.stderr);
        let printed = match command {
            "get" => shape.printed(&run.stdout, "", "\n"),
            "list" => shape.printed(
                &run.stdout,
                &format!(r#"{{"key":{key},"value":"#),
                ",\"ttl_ms\":null}\n",
            ),
            _ => true,
        };
        assert!(
            printed,
            "{} {command} did not print the value",
            backend.name
        );
        let used = run.peak.saturating_sub(baseline.peak);
        let ratio = used as f64 / shape.len as f64;
        let line = format!(
            "{:<8} {:<21} {command:<4} {:>5.1} MiB: peak {:>6.1} MiB, {:>6.1} MiB over the baseline = {ratio:.2}x the value (bound {bound:.1}x)",
            backend.name,
            shape.name,
            mib(shape.len),
            mib(run.peak),
            mib(used),
        );
        eprintln!("{line}");
        let limit = (bound * shape.len as f64) as u64 + SLACK_BYTES;
        assert!(
            used <= limit,
            "{line}: more than {:.1} MiB; a copy of the value too many is kept somewhere",
            mib(limit)
        );
        report.push(line);
    }
    let deleted = fedikv(dir, url, &["delete", &key], None);
    assert_eq!(
        deleted.code, 0,
        "{}: delete: {}",
        backend.name, deleted.stderr
    );
    report
}

/// MySQL: the 64 MiB value must be refused before it is sent (nothing is
/// stored); returns the server's limit from the message.
fn refused_over_limit(dir: &Path, backend: &Backend) -> usize {
    let (_, key) = unique_key();
    let shape = Shape::string(dir, VALUE_BYTES);
    let run = fedikv(dir, &backend.url, &["set", &key, "-"], Some(&shape.path));
    assert_eq!(
        run.code, 2,
        "{}: a {} byte value was not refused",
        backend.name, shape.len
    );
    let max = run
        .stderr
        .split("the limit is ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "{}: not a value-too-large error: {}",
                backend.name, run.stderr
            )
        });
    let absent = fedikv(dir, &backend.url, &["get", &key], None);
    assert_eq!(
        absent.code, 1,
        "{}: the refused value was stored",
        backend.name
    );
    max
}

/// The server backends whose URL is set; the others are reported (or fail
/// the test under `FEDIKV_TEST_REQUIRE_SERVERS=1`).
fn servers() -> Vec<Backend> {
    let required = std::env::var("FEDIKV_TEST_REQUIRE_SERVERS").as_deref() == Ok("1");
    let mut found = Vec::new();
    for (name, var, string_bounds, documents_bounds) in [
        (
            "postgres",
            "FEDIKV_TEST_POSTGRES_URL",
            [2.3, 2.5, 2.5],
            [2.3, 2.5, 2.5],
        ),
        (
            "mysql",
            "FEDIKV_TEST_MYSQL_URL",
            [1.9, 2.0, 2.3],
            [1.9, 2.0, 2.3],
        ),
        (
            "redis",
            "FEDIKV_TEST_REDIS_URL",
            [2.3, 2.5, 2.5],
            [2.3, 2.5, 2.5],
        ),
    ] {
        match std::env::var(var) {
            Ok(url) if !url.is_empty() => found.push(Backend {
                name,
                url,
                string_bounds,
                documents_bounds,
            }),
            _ => {
                assert!(
                    !required,
                    "{var} is unset, but FEDIKV_TEST_REQUIRE_SERVERS=1"
                );
                eprintln!("huge values NOT MEASURED on {name}: {var} is unset");
            }
        }
    }
    found
}

#[test]
fn set_get_and_list_of_a_huge_value_stay_within_their_memory_bound() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sqlite = Backend {
        name: "sqlite",
        url: format!("sqlite:{}", dir.path().join("huge.sqlite3").display()),
        string_bounds: [2.3, 2.3, 2.3],
        documents_bounds: [2.3, 2.3, 2.3],
    };
    let mut report = Vec::new();
    for backend in std::iter::once(sqlite).chain(servers()) {
        let mut bytes = VALUE_BYTES;
        if backend.name == "mysql" {
            let max = refused_over_limit(dir.path(), &backend);
            bytes = bytes.min(max.saturating_sub(1 << 20));
            if bytes < MIN_MEASURED_BYTES {
                eprintln!(
                    "huge values NOT MEASURED on mysql: its limit of {max} bytes (max_allowed_packet) leaves values too small to tell copies from fixed buffers"
                );
                continue;
            }
        }
        let string = Shape::string(dir.path(), bytes);
        report.extend(measure(
            dir.path(),
            &backend,
            &string,
            backend.string_bounds,
        ));
        let documents = Shape::documents(dir.path(), bytes);
        report.extend(measure(
            dir.path(),
            &backend,
            &documents,
            backend.documents_bounds,
        ));
    }
    eprintln!(
        "huge values, peak memory per command:\n{}",
        report.join("\n")
    );
}
