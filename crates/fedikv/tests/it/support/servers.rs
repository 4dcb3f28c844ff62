//! Throwaway servers of a test's own: a PostgreSQL cluster ([`OwnPostgres`]),
//! a MariaDB server ([`OwnMariadb`]), Redis servers ([`OwnRedis`]) and a
//! Redis Cluster ([`OwnRedisCluster`]), each on free loopback ports with its
//! files in a temporary directory, and stopped (killed, by the process id
//! the test started) and removed when dropped, also when the test panics.
//! The fault and TLS tests stop and start these, never the machine's own
//! servers.
//!
//! A server whose binaries are missing is a visible skip, or a failure
//! naming what to install under `FEDIKV_TEST_REQUIRE_SERVERS=1`
//! ([`fedikv_conformance::server::skip`]).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fedikv_conformance::server::skip;
use tempfile::TempDir;

/// Holds off the other fault tests while the caller's runs: each one starts
/// servers and loads them, and they check timings (prompt failures, bounded
/// recovery) that several at once on a small machine would blur.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static FAULT_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    FAULT_TESTS.lock().await
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Polls `condition` until it holds, panicking after `limit`.
pub fn wait_until(what: &str, limit: Duration, condition: impl Fn() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The first of `candidates` that exists, or `None` after a skip naming
/// `package`.
fn installed(candidates: Vec<PathBuf>, package: &str) -> Option<PathBuf> {
    let found = candidates.iter().find(|p| p.is_file()).cloned();
    if found.is_none() {
        skip(&format!(
            "none of {candidates:?} exists: install {package} to run this test"
        ));
    }
    found
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// `program` run as `user` when we are root (PostgreSQL's server refuses to
/// run as root), as ourselves otherwise.
fn command_as(user: &str, program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", user, "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Runs `command` to completion, panicking with its output on failure.
pub fn run(mut command: Command) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A server process the test started (or none): killed, by its process
/// id, and reaped when dropped.
struct Process(Option<Child>);

impl Process {
    /// Starts `command` quietly (no stdin, output discarded).
    fn spawn(mut command: Command) -> Self {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?}: {e}"));
        Self(Some(child))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A PostgreSQL cluster of the test's own (`initdb` in a temporary
/// directory, trust authentication, user `postgres`), started on a free
/// loopback port by [`start`](Self::start). Run as the `postgres` user when
/// we are root.
pub struct OwnPostgres {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    /// The server's port.
    pub port: u16,
    // Removed after the server stopped (field order: dropped last).
    dir: TempDir,
}

impl OwnPostgres {
    /// A new cluster, not started; `None` after a skip when PostgreSQL's
    /// server binaries are missing.
    pub fn create() -> Option<Self> {
        let mut candidates: Vec<PathBuf> = Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("initdb"))
            .into_iter()
            .collect();
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|dir| {
                dir.filter_map(|e| Some(e.ok()?.path().join("bin/initdb")))
                    .collect()
            })
            .unwrap_or_default();
        versions.sort_by_key(|p| {
            p.ancestors()
                .nth(2)
                .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
                .unwrap_or(0)
        });
        candidates.extend(versions.into_iter().rev());
        let initdb = installed(candidates, "PostgreSQL's server (postgresql)")?;
        let bin = initdb.parent().expect("a bin directory").to_path_buf();

        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        if is_root() {
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres"]).arg(dir.path());
            run(chown);
        }
        let mut initdb = command_as("postgres", &initdb);
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"]);
        run(initdb);
        Some(Self {
            bin,
            log: dir.path().join("server.log"),
            data,
            port: free_port(),
            dir,
        })
    }

    /// The cluster's temporary directory, owned by the server's user.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Starts the server on 127.0.0.1 (`listen`: more loopback addresses,
    /// comma-separated) with `settings` (`-c name=value …`) and waits until
    /// it accepts connections.
    pub fn start(&self, listen: &str, settings: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1{listen} -c fsync=off {settings}",
            self.port,
            self.data.display(),
        );
        let mut pg_ctl = command_as("postgres", &self.bin.join("pg_ctl"));
        pg_ctl
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-o", &options, "-w", "start"]);
        run(pg_ctl);
    }

    /// Stops the server with pg_ctl's shutdown `mode` (`fast`, `immediate`)
    /// and waits until it is gone.
    pub fn stop(&self, mode: &str) {
        run(self.pg_ctl_stop(mode));
    }

    fn pg_ctl_stop(&self, mode: &str) -> Command {
        let mut pg_ctl = command_as("postgres", &self.bin.join("pg_ctl"));
        pg_ctl
            .arg("-D")
            .arg(&self.data)
            .args(["-m", mode, "-w", "stop"]);
        pg_ctl
    }

    /// `postgres://postgres@<host>:<port>/postgres`.
    pub fn url(&self, host: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        // Fails harmlessly when the server is not running.
        let _ = self.pg_ctl_stop("immediate").output();
    }
}

/// A MariaDB server of the test's own (`mariadb-install-db` into a
/// temporary directory, `root` without a password, database `test`),
/// running as root with `--user=root`, on a free loopback port.
pub struct OwnMariadb {
    daemon: PathBuf,
    datadir: PathBuf,
    /// The server's port.
    pub port: u16,
    child: Process,
    dir: TempDir,
}

impl OwnMariadb {
    /// A new server, started; `None` after a skip when MariaDB's server is
    /// not installed.
    pub fn start() -> Option<Self> {
        let daemon = installed(
            vec!["/usr/sbin/mariadbd".into(), "/usr/bin/mariadbd".into()],
            "MariaDB's server (mariadb-server)",
        )?;
        let install = installed(
            vec!["/usr/bin/mariadb-install-db".into()],
            "MariaDB's server (mariadb-server)",
        )?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let datadir = dir.path().join("data");
        let mut command = Command::new(install);
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--user=root",
                "--skip-name-resolve",
            ]);
        run(command);
        let mut server = Self {
            daemon,
            datadir,
            port: free_port(),
            child: Process(None),
            dir,
        };
        server.restart();
        Some(server)
    }

    /// Starts the stopped server again on its port and data directory, and
    /// waits until it sends its greeting.
    pub fn restart(&mut self) {
        let mut command = Command::new(&self.daemon);
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", self.datadir.display()))
            .arg(format!(
                "--socket={}",
                self.dir.path().join("sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                self.dir.path().join("pid").display()
            ))
            .arg(format!(
                "--log-error={}",
                self.dir.path().join("error.log").display()
            ))
            .arg(format!("--port={}", self.port))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-name-resolve",
                "--innodb-flush-log-at-trx-commit=2",
            ]);
        self.child = Process::spawn(command);
        wait_until("MariaDB greets", Duration::from_secs(60), || self.answers());
    }

    /// Stops the server cleanly (SIGTERM) and waits until it exited.
    pub fn stop(&mut self) {
        let mut child = self.child.0.take().expect("the server runs");
        run({
            let mut kill = Command::new("kill");
            kill.args(["-TERM", &child.id().to_string()]);
            kill
        });
        child.wait().expect("mariadbd exits");
        assert!(!self.answers(), "MariaDB still answers after stopping");
    }

    /// Whether the server accepts a TCP connection and sends a greeting.
    pub fn answers(&self) -> bool {
        use std::io::Read;
        let Ok(mut stream) = std::net::TcpStream::connect_timeout(
            &([127, 0, 0, 1], self.port).into(),
            Duration::from_secs(1),
        ) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut greeting = [0u8; 5];
        stream.read_exact(&mut greeting).is_ok()
    }

    /// `mysql://root@127.0.0.1:<port>/test`.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/test", self.port)
    }
}

/// The `redis-server` binary, or `None` after a skip.
fn redis_server() -> Option<PathBuf> {
    installed(
        vec![
            "/usr/bin/redis-server".into(),
            "/usr/local/bin/redis-server".into(),
        ],
        "Redis (redis-server and redis-cli)",
    )
}

/// `redis-cli -h 127.0.0.1 -p <port> args…`, its output trimmed.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A `redis-server` of the test's own on a free loopback port, keeping
/// nothing on disk, with `extra` arguments.
pub struct OwnRedis {
    binary: PathBuf,
    extra: Vec<String>,
    /// The server's port.
    pub port: u16,
    child: Process,
    dir: TempDir,
}

impl OwnRedis {
    /// A started server; `None` after a skip when Redis is not installed.
    pub fn start(extra: &[&str]) -> Option<Self> {
        let mut server = Self {
            binary: redis_server()?,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            port: free_port(),
            child: Process(None),
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        server.restart();
        Some(server)
    }

    /// Starts the stopped server again on its port and waits until it
    /// answers `PING`.
    pub fn restart(&mut self) {
        let mut command = Command::new(&self.binary);
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra);
        self.child = Process::spawn(command);
        wait_until("redis answers PING", Duration::from_secs(20), || {
            self.answers()
        });
    }

    /// `SHUTDOWN NOSAVE`, and waits until the process exited.
    pub fn shutdown(&mut self) {
        // The reply is an error ("server closed the connection"): that is fine.
        redis_cli(self.port, &["shutdown", "nosave"]);
        if let Some(mut child) = self.child.0.take() {
            child.wait().expect("redis-server exits");
        }
    }

    /// Whether the server answers `PING`.
    pub fn answers(&self) -> bool {
        redis_cli(self.port, &["ping"]) == "PONG"
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

/// A Redis Cluster of the test's own: six `redis-server --cluster-enabled
/// yes` nodes (three primaries, three replicas, a 2 s node timeout so that
/// failovers are quick), created with `redis-cli --cluster create`.
pub struct OwnRedisCluster {
    /// The nodes; a node the test shut down stays here, stopped.
    pub nodes: Vec<OwnRedis>,
}

impl OwnRedisCluster {
    /// A created cluster in `cluster_state:ok`; `None` after a skip when
    /// Redis is not installed.
    pub fn start() -> Option<Self> {
        let mut nodes = Vec::new();
        for _ in 0..6 {
            // The cluster bus on a free port of its own (not port + 10000,
            // which may be taken or out of range).
            let bus = free_port().to_string();
            nodes.push(OwnRedis::start(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
                "--cluster-port",
                &bus,
            ])?);
        }
        let cluster = Self { nodes };
        let addresses: Vec<String> = cluster
            .ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let mut create = Command::new("redis-cli");
        create
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"]);
        run(create);
        let ports = cluster.ports();
        wait_until("cluster_state:ok", Duration::from_secs(60), || {
            cluster_ok(&ports)
        });
        // Replicas learn their primary a moment after the create, and the
        // other nodes hear of it later still: wait until every node sees
        // three replicas.
        wait_until(
            "every node sees three replicas",
            Duration::from_secs(60),
            || {
                ports.iter().all(|&port| {
                    let nodes = redis_cli(port, &["cluster", "nodes"]);
                    nodes.lines().filter(|l| l.contains("slave")).count() == 3
                })
            },
        );
        Some(cluster)
    }

    /// Every node's port.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// `redis+cluster://` with the first three nodes as seeds.
    pub fn url(&self) -> String {
        let seeds: Vec<String> = self.nodes[..3]
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("redis+cluster://{}", seeds.join(","))
    }
}

/// Whether every node of `ports` says `cluster_state:ok`.
pub fn cluster_ok(ports: &[u16]) -> bool {
    ports.iter().all(|&port| {
        redis_cli(port, &["cluster", "info"])
            .lines()
            .any(|l| l.trim() == "cluster_state:ok")
    })
}
