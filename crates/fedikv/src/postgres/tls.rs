//! TLS with rustls, following libpq's `sslmode` and `sslrootcert` semantics.
//!
//! | `sslmode` | encryption | certificate check |
//! | --- | --- | --- |
//! | `disable` | never | — |
//! | `allow`, `prefer` (default) | if the server offers it | none, unless `sslrootcert` is given (then as `verify-ca`) |
//! | `require` | always | none, unless `sslrootcert` is given (then as `verify-ca`) |
//! | `verify-ca` | always | chain to a trusted root |
//! | `verify-full` | always | chain to a trusted root, and the certificate names the host |
//!
//! Trusted roots are the PEM certificates of `sslrootcert=<file>`, or the
//! Mozilla root set (`webpki-roots`) without it. Client certificates
//! (`sslcert`, `sslkey`) are not supported.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{KvError, KvResult};

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Encryption only.
    None,
    /// The chain must end at a trusted root; any host name.
    Chain,
    /// The chain and the host name.
    Full,
}

/// TLS settings read from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// What tokio-postgres negotiates.
    pub(crate) mode: SslMode,
    /// What rustls checks.
    pub(crate) verify: Verify,
    /// `sslrootcert`: a PEM file of trusted roots.
    pub(crate) root_cert: Option<PathBuf>,
}

impl Default for TlsSettings {
    /// libpq's default: `sslmode=prefer`, no certificate check.
    fn default() -> Self {
        Self {
            mode: SslMode::Prefer,
            verify: Verify::None,
            root_cert: None,
        }
    }
}

impl TlsSettings {
    /// Settings for `sslmode` (default `prefer`) and `sslrootcert`.
    pub(crate) fn new(sslmode: Option<&str>, root_cert: Option<PathBuf>) -> KvResult<Self> {
        let (mode, verify) = match sslmode.unwrap_or("prefer") {
            "disable" => (SslMode::Disable, Verify::None),
            "allow" | "prefer" => (SslMode::Prefer, Verify::None),
            "require" => (SslMode::Require, Verify::None),
            "verify-ca" => (SslMode::Require, Verify::Chain),
            "verify-full" => (SslMode::Require, Verify::Full),
            other => {
                return Err(KvError::InvalidUrl {
                    reason: format!(
                        "sslmode={other}: use disable, allow, prefer, require, verify-ca or verify-full"
                    ),
                });
            }
        };
        // As libpq: a root certificate file turns on chain verification.
        let verify = if root_cert.is_some() && verify == Verify::None {
            Verify::Chain
        } else {
            verify
        };
        Ok(Self {
            mode,
            verify,
            root_cert,
        })
    }

    /// The rustls connector for these settings. Reads `sslrootcert`.
    pub(crate) fn connector(&self) -> KvResult<MakeRustlsConnect> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match self.verify {
            Verify::None => Arc::new(NoCertificateCheck(Arc::clone(&provider))),
            Verify::Chain => Arc::new(ChainOnly(self.webpki(&provider)?)),
            Verify::Full => self.webpki(&provider)?,
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_setup)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }

    fn webpki(&self, provider: &Arc<CryptoProvider>) -> KvResult<Arc<WebPkiServerVerifier>> {
        let roots = self.roots()?;
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
            .build()
            .map_err(tls_setup)
    }

    fn roots(&self) -> KvResult<RootCertStore> {
        let Some(path) = &self.root_cert else {
            return Ok(RootCertStore::from_iter(
                webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
            ));
        };
        let unreadable = |reason: String| KvError::InvalidUrl {
            reason: format!(
                "sslrootcert={}: {reason}; give a readable PEM file of CA certificates",
                path.display()
            ),
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| unreadable(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unreadable(e.to_string()))?;
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(unreadable("no usable certificate in the file".to_owned()));
        }
        Ok(roots)
    }
}

fn tls_setup(e: impl std::fmt::Display) -> KvError {
    KvError::InvalidUrl {
        reason: format!("cannot set up TLS: {e}"),
    }
}

/// `sslmode=require`/`prefer` without a root certificate: the connection is
/// encrypted, and the handshake signatures are checked, but any certificate
/// is accepted (libpq's behavior).
#[derive(Debug)]
struct NoCertificateCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCertificateCheck {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the full WebPKI check except the host name. The chain
/// is checked before the name, so a name mismatch means the chain was fine.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_follow_libpq() {
        let s = TlsSettings::new(None, None).unwrap();
        assert_eq!((s.mode, s.verify), (SslMode::Prefer, Verify::None));
        let s = TlsSettings::new(Some("require"), None).unwrap();
        assert_eq!((s.mode, s.verify), (SslMode::Require, Verify::None));
        let s = TlsSettings::new(Some("require"), Some("ca.pem".into())).unwrap();
        assert_eq!((s.mode, s.verify), (SslMode::Require, Verify::Chain));
        let s = TlsSettings::new(Some("verify-ca"), None).unwrap();
        assert_eq!((s.mode, s.verify), (SslMode::Require, Verify::Chain));
        let s = TlsSettings::new(Some("verify-full"), None).unwrap();
        assert_eq!((s.mode, s.verify), (SslMode::Require, Verify::Full));
        let s = TlsSettings::new(Some("disable"), None).unwrap();
        assert_eq!(s.mode, SslMode::Disable);
        assert!(matches!(
            TlsSettings::new(Some("verify"), None),
            Err(KvError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn connectors_build() {
        for mode in ["prefer", "verify-ca", "verify-full"] {
            assert!(
                TlsSettings::new(Some(mode), None)
                    .unwrap()
                    .connector()
                    .is_ok()
            );
        }
        let missing = TlsSettings::new(Some("verify-full"), Some("/nonexistent/ca.pem".into()))
            .unwrap()
            .connector();
        assert!(matches!(missing, Err(KvError::InvalidUrl { .. })));
    }
}
