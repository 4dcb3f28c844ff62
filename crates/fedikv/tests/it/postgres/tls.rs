//! TLS against a real certificate chain: a throwaway PostgreSQL cluster
//! (initdb in a temporary directory, on a free loopback port) whose server
//! certificate is signed by an intermediate CA signed by a test root CA, all
//! made with `openssl` for this run. The test starts that cluster itself and
//! stops it when done, also on failure; the shared server is not touched.
//!
//! Needs PostgreSQL's server binaries (`/usr/lib/postgresql/<v>/bin`) and
//! `openssl`; skips without them, unless `FEDIKV_TEST_REQUIRE_SERVERS=1`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use fedikv::{KvError, KvKey, KvStore, PostgresKvStore, SetOptions};
use serde_json::json;

use fedikv_conformance::server::servers_required;

/// The newest installed PostgreSQL server binary directory.
fn server_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Runs a command (as `postgres` when we are root: the server refuses to
/// run as root), panicking with its output on failure.
fn run(program: &Path, args: &[&str], as_postgres: bool) {
    let mut command = if as_postgres && is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let output = command.args(args).output().expect("run command");
    assert!(
        output.status.success(),
        "{} {args:?} failed: {}{}",
        program.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA key and certificate named `name` (`name.key`, `name.pem`), signed by
/// `issuer` or self-signed.
fn make_cert(dir: &Path, name: &str, subject: &str, issuer: Option<&str>, extensions: &str) {
    let (key, csr, pem, ext) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    std::fs::write(dir.join(&ext), extensions).unwrap();
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            subject,
        ],
    );
    let (ca, ca_key) = match issuer {
        Some(issuer) => (format!("{issuer}.pem"), format!("{issuer}.key")),
        None => (String::new(), key.clone()),
    };
    let mut args = vec![
        "x509",
        "-req",
        "-in",
        &csr,
        "-out",
        &pem,
        "-days",
        "2",
        "-extfile",
        &ext,
        "-set_serial",
    ];
    let serial = format!("{}", std::process::id() + name.len() as u32);
    args.push(&serial);
    if issuer.is_some() {
        args.extend(["-CA", &ca, "-CAkey", &ca_key]);
    } else {
        args.extend(["-signkey", &ca_key]);
    }
    openssl(dir, &args);
}

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n\
subjectKeyIdentifier=hash\n";
const INTERMEDIATE_EXT: &str = "basicConstraints=critical,CA:TRUE,pathlen:0\n\
keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
const SERVER_EXT: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n\
subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";

/// The throwaway cluster; stopped (immediately: nothing in it matters) when
/// dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    certs: PathBuf,
    port: u16,
    log: PathBuf,
    // Removed after the server stopped (field order: dropped last).
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn create(bin: PathBuf) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let data = root.join("data");
        let certs = root.join("certs");
        std::fs::create_dir(&certs).unwrap();
        make_cert(&certs, "root", "/CN=fedikv test root CA", None, CA_EXT);
        make_cert(&certs, "other", "/CN=fedikv untrusted CA", None, CA_EXT);
        make_cert(
            &certs,
            "intermediate",
            "/CN=fedikv test intermediate CA",
            Some("root"),
            INTERMEDIATE_EXT,
        );
        make_cert(
            &certs,
            "server",
            "/CN=localhost",
            Some("intermediate"),
            SERVER_EXT,
        );
        // The server sends its certificate followed by the intermediate.
        let chain = [
            std::fs::read_to_string(certs.join("server.pem")).unwrap(),
            std::fs::read_to_string(certs.join("intermediate.pem")).unwrap(),
        ]
        .concat();
        std::fs::write(certs.join("chain.pem"), chain).unwrap();
        if is_root() {
            run(Path::new("chmod"), &["755", root.to_str().unwrap()], false);
            run(
                Path::new("chown"),
                &["-R", "postgres", certs.to_str().unwrap()],
                false,
            );
        }
        std::fs::create_dir(&data).unwrap();
        if is_root() {
            run(
                Path::new("chown"),
                &["postgres", data.to_str().unwrap(), root.to_str().unwrap()],
                false,
            );
        }
        run(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
            true,
        );
        run(
            Path::new("chmod"),
            &["600", certs.join("server.key").to_str().unwrap()],
            true,
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        Self {
            bin,
            log: root.join("server.log"),
            data,
            certs,
            port,
            _dir: dir,
        }
    }

    fn start(&self, ssl: bool) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1,127.0.0.2 -c fsync=off -c ssl={} \
             -c ssl_cert_file={} -c ssl_key_file={}",
            self.port,
            self.data.display(),
            if ssl { "on" } else { "off" },
            self.certs.join("chain.pem").display(),
            self.certs.join("server.key").display(),
        );
        run(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-l",
                self.log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "start",
            ],
            true,
        );
    }

    fn stop(&self) {
        run(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            true,
        );
    }

    fn url(&self, host: &str, options: &str) -> String {
        format!(
            "postgres://postgres@{host}:{}/postgres?table=fedikv_tls&{options}",
            self.port
        )
    }

    fn cert(&self, name: &str) -> String {
        self.certs.join(name).display().to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = command
            .args([
                "-D",
                self.data.to_str().unwrap_or(""),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
    }
}

/// Whether the store's connections are encrypted, and that it works.
async fn encrypted(store: &PostgresKvStore) -> bool {
    let key = KvKey::new(["tls"]).unwrap();
    store
        .set(&key, &json!("over tls?"), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(store.get(&key).await.unwrap(), Some(json!("over tls?")));
    store
        .pool()
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

async fn tls_failure(url: &str) -> String {
    match PostgresKvStore::open_url(url).await {
        Err(KvError::Backend { source, .. }) => {
            let message = source.to_string();
            assert!(message.contains("TLS"), "{message}");
            message
        }
        other => panic!("{url}: expected a TLS error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_modes_with_a_real_certificate_chain() {
    let (Some(bin), true) = (
        server_bin_dir(),
        Command::new("openssl").arg("version").output().is_ok(),
    ) else {
        assert!(
            !servers_required(),
            "FEDIKV_TEST_REQUIRE_SERVERS=1 but PostgreSQL's server binaries or openssl are missing"
        );
        eprintln!("skipping: needs /usr/lib/postgresql/<v>/bin/initdb and openssl");
        return;
    };
    let cluster = Cluster::create(bin);
    let root = cluster.cert("root.pem");
    let other = cluster.cert("other.pem");

    // A server without TLS: require fails with a typed error, prefer does
    // without.
    cluster.start(false);
    let message = tls_failure(&cluster.url("127.0.0.1", "sslmode=require")).await;
    eprintln!("sslmode=require without server TLS: {message}");
    let plain = PostgresKvStore::open_url(&cluster.url("127.0.0.1", "sslmode=prefer"))
        .await
        .unwrap();
    assert!(!encrypted(&plain).await);
    drop(plain);
    cluster.stop();

    cluster.start(true);
    let open = |host: &str, options: String| {
        let url = cluster.url(host, &options);
        async move {
            PostgresKvStore::open_url(&url)
                .await
                .unwrap_or_else(|e| panic!("{url}: {e}"))
        }
    };
    // verify-full: the chain (server → intermediate → root) and the name,
    // by IP address and by DNS name.
    let full = open(
        "127.0.0.1",
        format!("sslmode=verify-full&sslrootcert={root}"),
    )
    .await;
    assert!(encrypted(&full).await);
    let by_name = open(
        "localhost",
        format!("sslmode=verify-full&sslrootcert={root}"),
    )
    .await;
    assert!(encrypted(&by_name).await);
    // 127.0.0.2 is not in the certificate: verify-full refuses it,
    // verify-ca (chain only) accepts it.
    let message = tls_failure(&cluster.url(
        "127.0.0.2",
        &format!("sslmode=verify-full&sslrootcert={root}"),
    ))
    .await;
    eprintln!("verify-full, wrong host name: {message}");
    let chain_only = open("127.0.0.2", format!("sslmode=verify-ca&sslrootcert={root}")).await;
    assert!(encrypted(&chain_only).await);
    // Another CA, or the default (Mozilla) roots: untrusted.
    tls_failure(&cluster.url(
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={other}"),
    ))
    .await;
    tls_failure(&cluster.url("127.0.0.1", "sslmode=verify-full")).await;
    // As libpq: a root certificate makes require check the chain.
    tls_failure(&cluster.url("127.0.0.1", &format!("sslmode=require&sslrootcert={other}"))).await;
    // require and prefer without one: encrypted, unchecked.
    assert!(encrypted(&open("127.0.0.1", "sslmode=require".to_owned()).await).await);
    assert!(encrypted(&open("127.0.0.1", "sslmode=prefer".to_owned()).await).await);
    assert!(!encrypted(&open("127.0.0.1", "sslmode=disable".to_owned()).await).await);
}
