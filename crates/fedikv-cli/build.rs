//! Records, for `fedikv bench` output, the compiler version and the versions
//! of the database drivers this build links (read from the workspace
//! `Cargo.lock` when there is one).

use std::path::Path;
use std::process::Command;

const DRIVERS: [&str; 7] = [
    "rusqlite",
    "tokio-postgres",
    "deadpool-postgres",
    "mysql_async",
    "redis",
    "denokv_sqlite",
    "denokv_remote",
];

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=FEDIKV_RUSTC_VERSION={version}");

    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let lock_path = Path::new(&manifest_dir).join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    println!("cargo:rerun-if-changed=build.rs");
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    for driver in DRIVERS {
        let version = locked_version(&lock, driver).unwrap_or("?");
        let var = driver.to_ascii_uppercase().replace('-', "_");
        println!("cargo:rustc-env=FEDIKV_LOCKED_{var}={version}");
    }
}

/// The version of package `name` in Cargo.lock text.
fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("name = \"{name}\"\n");
    let start = lock.find(&marker)? + marker.len();
    let line = lock[start..].lines().next()?;
    line.strip_prefix("version = \"")?.strip_suffix('"')
}
