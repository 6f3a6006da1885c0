//! Which server certificates `client` and `smtp send` trust. TLS is borrowed (rustls, ring
//! provider); this crate is the one place that decides trust, so both programs agree.
//!
//! - **Roots**: the system's trust store when there is one (`SSL_CERT_FILE`, then the usual
//!   bundle files of Debian, Fedora, openSUSE, Alpine and macOS), as curl does; otherwise
//!   Mozilla's roots bundled in the program (webpki-roots). [`Roots::describe`] says which, for
//!   `-v`.
//! - **A `--cacert` / `--ca` file** (PEM) adds its certificates in two ways at once: each is a
//!   root a server's chain may lead to, *and* each is pinned: a server that presents exactly
//!   that certificate (byte for byte) is accepted even though it is self-signed and marked
//!   CA:TRUE, which is what `openssl req -x509 ...` makes and what webpki alone refuses
//!   ("CaUsedAsEndEntity"). The host name is still checked against a pinned certificate; a
//!   different certificate still fails.
//! - **`-k`**: [`danger::AcceptAnyCertificate`] skips the certificate check entirely.

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Bundle files where systems keep their trusted roots, in the order they are tried.
pub const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL, CentOS
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/ssl/cert.pem",                  // Alpine, macOS, BSDs
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // newer Fedora
];

/// Why trust could not be set up.
#[derive(Debug)]
pub enum TrustError {
    /// A certificate file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A certificate file is not PEM, or holds no certificate.
    NoCertificates { path: PathBuf, detail: String },
    /// rustls refused to build a verifier (no usable root at all).
    Verifier(String),
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            TrustError::NoCertificates { path, detail } => write!(
                f,
                "{} holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks){detail}",
                path.display()
            ),
            TrustError::Verifier(e) => write!(f, "cannot set up certificate checks: {e}"),
        }
    }
}

impl std::error::Error for TrustError {}

/// Reads every certificate in a PEM file (other blocks, such as keys, are skipped).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let pem = std::fs::read(path).map_err(|source| TrustError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TrustError::NoCertificates {
            path: path.to_path_buf(),
            detail: format!(": {e}"),
        })?;
    if certs.is_empty() {
        return Err(TrustError::NoCertificates {
            path: path.to_path_buf(),
            detail: String::new(),
        });
    }
    Ok(certs)
}

/// Where the roots came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    /// The file `SSL_CERT_FILE` names, with how many roots it gave.
    Env { path: PathBuf, count: usize },
    /// A system bundle file, with how many roots it gave.
    System { path: PathBuf, count: usize },
    /// The Mozilla roots compiled into the program.
    Bundled { count: usize },
}

/// The roots in use, and the extra file, for `-v`.
#[derive(Debug, Clone)]
pub struct Roots {
    pub source: RootSource,
    /// `--cacert` / `--ca`, and how many certificates it held.
    pub extra: Option<(PathBuf, usize)>,
}

impl Roots {
    /// One line for `-v`: "trusting the system store /etc/ssl/... (146 roots) and ...".
    pub fn describe(&self) -> String {
        let roots = |n: usize| format!("{n} root{}", if n == 1 { "" } else { "s" });
        let mut line = match &self.source {
            RootSource::Env { path, count } => format!(
                "trusting SSL_CERT_FILE={} ({})",
                path.display(),
                roots(*count)
            ),
            RootSource::System { path, count } => format!(
                "trusting the system store {} ({})",
                path.display(),
                roots(*count)
            ),
            RootSource::Bundled { count } => format!(
                "trusting the bundled Mozilla roots ({}; no system store found)",
                roots(*count)
            ),
        };
        if let Some((path, n)) = &self.extra {
            line.push_str(&format!(
                " and {} ({n} certificate{}: CA or pinned)",
                path.display(),
                if *n == 1 { "" } else { "s" }
            ));
        }
        line
    }
}

/// Loads the roots in `SSL_CERT_FILE` when it names a file with any, else the first system
/// bundle that yields any, else the bundled ones.
pub fn system_or_bundled_roots(store: &mut RootCertStore) -> RootSource {
    let env = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    let bundles: Vec<PathBuf> = SYSTEM_BUNDLES.iter().map(PathBuf::from).collect();
    roots_from(env, &bundles, store)
}

/// [`system_or_bundled_roots`] with the `SSL_CERT_FILE` value and the bundle files given.
fn roots_from(env: Option<PathBuf>, bundles: &[PathBuf], store: &mut RootCertStore) -> RootSource {
    let mut add_from = |path: &Path| {
        let pem = std::fs::read(path).ok()?;
        let certs = CertificateDer::pem_slice_iter(&pem).flatten();
        let (added, _ignored) = store.add_parsable_certificates(certs);
        (added > 0).then_some(added)
    };
    if let Some(path) = env {
        if let Some(count) = add_from(&path) {
            return RootSource::Env { path, count };
        }
    }
    for path in bundles {
        if let Some(count) = add_from(path) {
            return RootSource::System {
                path: path.clone(),
                count,
            };
        }
    }
    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    RootSource::Bundled {
        count: webpki_roots::TLS_SERVER_ROOTS.len(),
    }
}

/// The verifier for "check the certificate": system (or bundled) roots, plus `ca_file`'s
/// certificates as roots and as pinned certificates.
pub fn verifier(
    provider: Arc<CryptoProvider>,
    ca_file: Option<&Path>,
) -> Result<(Arc<dyn ServerCertVerifier>, Roots), TrustError> {
    let mut store = RootCertStore::empty();
    let source = system_or_bundled_roots(&mut store);
    let mut pinned = Vec::new();
    let mut extra = None;
    if let Some(path) = ca_file {
        let certs = read_certificates(path)?;
        extra = Some((path.to_path_buf(), certs.len()));
        for cert in &certs {
            // A certificate webpki cannot take as a root can still be pinned.
            let _ = store.add(cert.clone());
        }
        pinned = certs;
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
        .build()
        .map_err(|e| TrustError::Verifier(e.to_string()))?;
    let verifier = PinnedOrChained { pinned, inner };
    Ok((Arc::new(verifier), Roots { source, extra }))
}

/// Accepts a server certificate that is exactly one of `pinned` (and valid for the name), or
/// else one that chains to a root, as webpki decides.
#[derive(Debug)]
pub struct PinnedOrChained {
    pinned: Vec<CertificateDer<'static>>,
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for PinnedOrChained {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Certificate handling that turns verification off. Only `-k` / `--insecure` reaches it.
pub mod danger {
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    /// DANGEROUS: accepts every certificate, for any name, expired or self-signed.
    ///
    /// The handshake signatures are still checked against the certificate the server sent, so the
    /// session is encrypted to *that* key; but nothing ties the key to the host name, so a
    /// machine in the middle can present its own. Use only against lab servers you run yourself.
    #[derive(Debug)]
    pub struct AcceptAnyCertificate {
        provider: Arc<CryptoProvider>,
    }

    impl AcceptAnyCertificate {
        /// A verifier that checks signatures with `provider` and trusts any certificate.
        pub fn new(provider: Arc<CryptoProvider>) -> Self {
            AcceptAnyCertificate { provider }
        }
    }

    impl ServerCertVerifier for AcceptAnyCertificate {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
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
                &self.provider.signature_verification_algorithms,
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
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// A self-signed CA:TRUE certificate for `name`, as `openssl req -x509` makes, in PEM.
    fn ca_true_self_signed(name: &str) -> (CertificateDer<'static>, String) {
        let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key_pair = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key_pair).unwrap();
        (cert.der().clone(), cert.pem())
    }

    fn verify(
        verifier: &dyn ServerCertVerifier,
        cert: &CertificateDer<'_>,
        name: &str,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = ServerName::try_from(name.to_owned()).unwrap();
        verifier.verify_server_cert(cert, &[], &name, &[], UnixTime::now())
    }

    #[test]
    fn a_pinned_ca_true_certificate_is_accepted_for_its_name_only() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, pem) = ca_true_self_signed("localhost");
        let (other, _) = ca_true_self_signed("localhost");
        let file = dir.path().join("lab.pem");
        std::fs::write(&file, pem).unwrap();

        let (with_file, roots) = verifier(provider(), Some(&file)).unwrap();
        assert!(verify(with_file.as_ref(), &cert, "localhost").is_ok());
        assert_eq!(roots.extra, Some((file.clone(), 1)));
        // The host name is still checked, and another certificate is still refused.
        let wrong_name = verify(with_file.as_ref(), &cert, "example.org").unwrap_err();
        assert!(matches!(
            wrong_name,
            rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName)
                | rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForNameContext { .. }
                )
        ));
        assert!(verify(with_file.as_ref(), &other, "localhost").is_err());

        // Without the file, webpki alone refuses it.
        let (without, roots) = verifier(provider(), None).unwrap();
        assert!(verify(without.as_ref(), &cert, "localhost").is_err());
        assert_eq!(roots.extra, None);
    }

    #[test]
    fn a_certificate_signed_by_a_ca_in_the_file_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let (file, leaf, _) = test_support::signed_by_a_ca(dir.path(), "lab");
        let leaf = &read_certificates(&leaf).unwrap()[0];

        let (with_ca, _) = verifier(provider(), Some(&file)).unwrap();
        assert!(verify(with_ca.as_ref(), leaf, "localhost").is_ok());
        assert!(verify(with_ca.as_ref(), leaf, "example.org").is_err());
        // Another CA does not vouch for it.
        let (_, other_pem) = ca_true_self_signed("localhost");
        let other = dir.path().join("other.pem");
        std::fs::write(&other, other_pem).unwrap();
        let (with_other, _) = verifier(provider(), Some(&other)).unwrap();
        assert!(verify(with_other.as_ref(), leaf, "localhost").is_err());
    }

    #[test]
    fn a_file_without_certificates_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&file, key.serialize_pem()).unwrap();
        let err = read_certificates(&file).unwrap_err().to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        let missing = dir.path().join("missing.pem");
        let err = read_certificates(&missing).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot read {}", missing.display())),
            "{err}"
        );
    }

    #[test]
    fn roots_come_from_ssl_cert_file_then_the_system_bundles_then_the_bundled_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (_, pem) = ca_true_self_signed("localhost");
        let one = dir.path().join("one.pem");
        std::fs::write(&one, &pem).unwrap();
        let two = dir.path().join("two.pem");
        std::fs::write(&two, format!("{pem}{}", ca_true_self_signed("localhost").1)).unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let missing = dir.path().join("missing.pem");
        let roots = |env: Option<&PathBuf>, bundles: &[&PathBuf]| {
            let bundles: Vec<PathBuf> = bundles.iter().map(|p| p.to_path_buf()).collect();
            let mut store = RootCertStore::empty();
            let source = roots_from(env.cloned(), &bundles, &mut store);
            (source, store.len())
        };

        // SSL_CERT_FILE first, when it holds any certificate.
        assert_eq!(
            roots(Some(&one), &[&two]),
            (
                RootSource::Env {
                    path: one.clone(),
                    count: 1
                },
                1
            )
        );
        // Else the first system bundle that holds any.
        assert_eq!(
            roots(Some(&empty), &[&missing, &empty, &two, &one]),
            (
                RootSource::System {
                    path: two.clone(),
                    count: 2
                },
                2
            )
        );
        // No system store at all: the bundled Mozilla roots.
        let bundled = webpki_roots::TLS_SERVER_ROOTS.len();
        assert_eq!(
            roots(None, &[&missing, &empty]),
            (RootSource::Bundled { count: bundled }, bundled)
        );
        assert!(bundled > 100, "{bundled}");
    }

    #[test]
    fn describe_names_the_store_and_the_extra_file() {
        let roots = Roots {
            source: RootSource::System {
                path: PathBuf::from("/etc/ssl/certs/ca-certificates.crt"),
                count: 146,
            },
            extra: Some((PathBuf::from("lab.pem"), 1)),
        };
        assert_eq!(
            roots.describe(),
            "trusting the system store /etc/ssl/certs/ca-certificates.crt (146 roots) \
             and lab.pem (1 certificate: CA or pinned)"
        );
        let roots = Roots {
            source: RootSource::Bundled { count: 1 },
            extra: None,
        };
        assert_eq!(
            roots.describe(),
            "trusting the bundled Mozilla roots (1 root; no system store found)"
        );
    }
}
