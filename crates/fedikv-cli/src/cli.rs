//! The command line: arguments and subcommands (clap derive).
//!
//! Keys, values and durations are taken as plain text here and parsed by the
//! commands ([`crate::input`]), so that a malformed one is reported as one
//! `fedikv: ...` line with exit code 2 instead of clap's usage text.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use fedikv::Scheme;

/// The store a command uses when neither `--store` nor `FEDIKV_STORE` names one.
pub const DEFAULT_STORE: &str = "sqlite:fedikv.sqlite3";

/// The help of `--store`, listing every URL form of [`Scheme`].
fn store_help() -> String {
    format!(
        "Store URL: {} [default: {DEFAULT_STORE}; for `bench`, a temporary SQLite file]. `bench` takes it several times.",
        Scheme::forms()
    )
}

/// Read and write Fedify-compatible key-value stores, and benchmark them.
///
/// Keys are JSON arrays of strings ('["app","item"]'), values are any JSON
/// ('"text"', '42', '{"a":1}', 'null'). Exit codes: 0 done, 1 absent / not
/// swapped, 2 error (also when a bulk command skipped rows it cannot
/// decode, each reported on stderr).
#[derive(Debug, Parser)]
#[command(name = "fedikv", version)]
pub struct Cli {
    /// Store URL (see `store_help`).
    #[arg(
        long = "store",
        help = store_help(),
        value_name = "URL",
        global = true,
        env = "FEDIKV_STORE",
        hide_env_values = true
    )]
    pub stores: Vec<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The commands that work on one store.
    #[command(flatten)]
    Data(DataCommand),
    /// Copy the live entries under PREFIX from one store to another, with
    /// their remaining TTLs (e.g. SQLite to PostgreSQL). Re-running it is
    /// safe: entries are upserted. Ignores --store.
    Copy(CopyArgs),
    /// Benchmark stores with Fedify's workload; prints JSON Lines results.
    Bench(BenchArgs),
}

/// How a command prints what it found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table when standard output is a terminal, JSON otherwise.
    #[default]
    Auto,
    /// JSON (Lines), for programs.
    Json,
    /// An aligned table, for people.
    Table,
}

impl Format {
    /// Whether to print a table.
    pub fn is_table(self) -> bool {
        match self {
            Self::Auto => std::io::IsTerminal::is_terminal(&std::io::stdout()),
            Self::Json => false,
            Self::Table => true,
        }
    }
}

/// Arguments of `fedikv copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The store to read: a store URL as for --store.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The store to write: a store URL as for --store; must not be the --from store.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Copy only the entries under this key prefix, e.g. '["_fedify","publicKey"]'.
    #[arg(long, value_name = "KEY")]
    pub prefix: Option<String>,
    /// Writes in flight at once.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub concurrency: usize,
}

/// The commands that work on the one store `--store` names.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Print the value stored under KEY as JSON; exit 1 when it is absent or expired.
    Get {
        /// The key, a JSON array of strings, e.g. '["app","item"]'.
        key: String,
    },
    /// Store VALUE under KEY, replacing any entry.
    Set {
        /// The key, a JSON array of strings, e.g. '["app","item"]'.
        key: String,
        /// The value as JSON, e.g. '"text"' or '{"a":1}'; `-` reads it from stdin.
        #[arg(allow_hyphen_values = true)]
        value: String,
        /// Expire the entry this long after the write: 500ms, 30s, 5m, 1h30m, 1d.
        #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
        ttl: Option<String>,
    },
    /// Remove the entry under KEY (succeeds when there is none), with
    /// --raw-key a row that cannot be decoded, or with --prefix every entry
    /// under a prefix (prints what it removed).
    Delete(DeleteArgs),
    /// Compare-and-swap: replace (or delete) the value under KEY only if it
    /// currently equals the expected one. Prints true or false; exit 1 when not swapped.
    #[command(group(ArgGroup::new("expected").required(true).args(["expect", "absent"])))]
    #[command(group(ArgGroup::new("replacement").required(true).args(["new", "delete"])))]
    Cas(CasArgs),
    /// Print every live entry under PREFIX: JSON Lines {"key":[...],"value":...,"ttl_ms":...}
    /// (ttl_ms: milliseconds left, null for none), or a table on a terminal.
    List {
        /// A key prefix, e.g. '["app"]'; omitted or '[]' lists everything.
        prefix: Option<String>,
        /// Print at most this many entries.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Auto)]
        format: Format,
    },
    /// Count the entries under PREFIX: live ones, those without a TTL, and
    /// expired rows still stored (waiting for a sweep).
    Count {
        /// A key prefix, e.g. '["_fedify"]'; omitted or '[]' counts everything.
        prefix: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Auto)]
        format: Format,
    },
    /// The counts of `count`, per group of keys sharing their first DEPTH
    /// components (e.g. ["_fedify","remoteDocument"]), then the total.
    Stats {
        /// A key prefix, e.g. '["_fedify"]'; omitted or '[]' covers everything.
        prefix: Option<String>,
        /// How many leading key components make a group (at least as many as
        /// PREFIX has).
        #[arg(long, value_name = "N", default_value_t = 2)]
        depth: usize,
        /// Stop with an error past this many groups (each is held in memory
        /// and asked for its expired rows): a deeper --depth can make one
        /// group per key.
        #[arg(long, value_name = "N", default_value_t = 10_000)]
        max_groups: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Auto)]
        format: Format,
    },
    /// Remove expired entries now and print how many were removed.
    Sweep,
    /// Check that the store is reachable and its table usable (a readiness
    /// probe): prints the backend, the server's version and the latency of
    /// one read; exit 0 when healthy, 2 when not.
    Check,
}

/// Arguments of `fedikv delete`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["key", "raw_key", "prefix"])))]
pub struct DeleteArgs {
    /// The key, a JSON array of strings, e.g. '["app","item"]'.
    pub key: Option<String>,
    /// Delete the row stored under this raw key instead, whatever it holds:
    /// the text a listing reported for a row it could not decode (SQLite,
    /// MySQL: the key column's text; PostgreSQL: the key array as
    /// PostgreSQL writes it, e.g. {p,NULL}; Redis: the whole Redis key).
    /// Exit 1 when there is no such row.
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub raw_key: Option<String>,
    /// Delete every live entry under this key prefix instead ('[]': every entry).
    #[arg(long, value_name = "KEY")]
    pub prefix: Option<String>,
    /// With --prefix: only the entries that have no TTL (e.g. legacy cache
    /// entries that would never expire).
    #[arg(long)]
    pub no_ttl_only: bool,
    /// With --prefix: count what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --prefix: deletes in flight at once.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub concurrency: usize,
}

/// Arguments of `fedikv cas`.
#[derive(Debug, Args)]
pub struct CasArgs {
    /// The key, a JSON array of strings, e.g. '["app","item"]'.
    pub key: String,
    /// Swap only if the current value deep-equals this JSON.
    #[arg(long, value_name = "JSON", allow_hyphen_values = true)]
    pub expect: Option<String>,
    /// Swap only if the key is absent (or expired).
    #[arg(long)]
    pub absent: bool,
    /// The JSON value to write on a swap.
    #[arg(long, value_name = "JSON", allow_hyphen_values = true)]
    pub new: Option<String>,
    /// Delete the entry on a swap (compare-and-delete).
    #[arg(long)]
    pub delete: bool,
    /// Expiry of the new value: 500ms, 30s, 5m, 1h30m, 1d.
    #[arg(
        long,
        value_name = "DURATION",
        allow_hyphen_values = true,
        conflicts_with = "delete"
    )]
    pub ttl: Option<String>,
}

/// Arguments of `fedikv bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Operations (and keys) per phase.
    #[arg(short = 'n', value_name = "N", default_value_t = 20_000)]
    pub n: usize,
    /// In-flight gets in the concurrent phase.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Stop a phase after this long and report the operations done (`capped`).
    #[arg(long, value_name = "DURATION", default_value = "8s")]
    pub phase_max: String,
    /// Append the JSON Lines results to FILE instead of printing them.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// After each SQLite, PostgreSQL, MySQL or Redis store, run its
    /// raw-driver floor on the same table or prefix: the store's statements
    /// or commands through the bare driver (`impl` "raw").
    #[arg(long, alias = "raw-sqlite")]
    pub raw: bool,
    /// Which workload to run.
    #[arg(long, value_enum, default_value_t = Scenario::Standard)]
    pub scenario: Scenario,
    /// Rows in the table for `--scenario large-table` (half of them expired).
    #[arg(long, value_name = "ROWS", default_value_t = 1_000_000)]
    pub rows: usize,
    /// For scripts/bench_c_clients.py, instead of a benchmark: `fill` writes
    /// the workload's documents and list keys to each PostgreSQL, MySQL or
    /// Redis store's benchmark table or prefix and prints, per store, the
    /// statements or key the server's own C client reads them with; `wipe`
    /// removes them.
    #[arg(long, value_enum, value_name = "ACTION", hide = true)]
    pub c_client_fixture: Option<FixtureAction>,
}

/// What `fedikv bench --c-client-fixture` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixtureAction {
    /// Write the data and print the statements.
    Fill,
    /// Remove the benchmark table or prefix.
    Wipe,
}

/// The workloads of `fedikv bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// The workload of docs/benchmarks.md: set, get_hit, get_miss,
    /// get_hit_c64, cas, list, set_ttl, delete.
    Standard,
    /// Writes and lists on an empty table, then on a table of `--rows` rows of
    /// which half are expired.
    LargeTable,
}

impl Scenario {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::LargeTable => "large-table",
        }
    }
}
