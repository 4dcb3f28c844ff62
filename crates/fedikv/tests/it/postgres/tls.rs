//! TLS against a real certificate chain: a throwaway PostgreSQL cluster
//! (initdb in a temporary directory, on a free loopback port) whose server
//! certificate is signed by an intermediate CA signed by a test root CA, all
//! made with `openssl` for this run. The test starts that cluster itself and
//! stops it when done, also on failure; the shared server is not touched.
//!
//! Needs PostgreSQL's server binaries (`/usr/lib/postgresql/<v>/bin`) and
//! `openssl`; skips without them, unless `FEDIKV_TEST_REQUIRE_SERVERS=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use fedikv::{KvError, KvKey, KvStore, PostgresKvStore, SetOptions};
use serde_json::json;

use fedikv_conformance::server::skip;

use crate::support::servers::{OwnPostgres, run};

fn openssl(dir: &Path, args: &[&str]) {
    let mut openssl = Command::new("openssl");
    openssl.current_dir(dir).args(args);
    run(openssl);
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

/// The throwaway cluster and its certificates (in the cluster's directory,
/// readable by the server's user).
struct Cluster {
    server: OwnPostgres,
    certs: PathBuf,
}

impl Cluster {
    fn create() -> Option<Self> {
        let server = OwnPostgres::create()?;
        let certs = server.dir().join("certs");
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
        // The server reads them as its own user, the key private to it.
        let mut chown = Command::new("chown");
        chown
            .args(["-R", "--reference"])
            .arg(server.dir())
            .arg(&certs);
        run(chown);
        let mut chmod = Command::new("chmod");
        chmod.arg("600").arg(certs.join("server.key"));
        run(chmod);
        Some(Self { server, certs })
    }

    fn start(&self, ssl: bool) {
        self.server.start(
            ",127.0.0.2",
            &format!(
                "-c ssl={} -c ssl_cert_file={} -c ssl_key_file={}",
                if ssl { "on" } else { "off" },
                self.certs.join("chain.pem").display(),
                self.certs.join("server.key").display(),
            ),
        );
    }

    fn stop(&self) {
        self.server.stop("immediate");
    }

    fn url(&self, host: &str, options: &str) -> String {
        format!("{}?table=fedikv_tls&{options}", self.server.url(host))
    }

    fn cert(&self, name: &str) -> String {
        self.certs.join(name).display().to_string()
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
    if Command::new("openssl").arg("version").output().is_err() {
        skip("openssl is not installed: install openssl to run this test");
        return;
    }
    let Some(cluster) = Cluster::create() else {
        return;
    };
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
