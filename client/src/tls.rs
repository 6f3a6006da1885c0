//! TLS for `https://` URLs and `--tls`, borrowed from rustls with the ring provider.
//!
//! The trust store is Mozilla's root list (webpki-roots), plus any `--cacert FILE` (PEM; a lab
//! server's self-signed certificate, for instance). `-k` swaps the verifier for
//! [`danger::AcceptAnyCertificate`], which skips the certificate check entirely: the connection is
//! still encrypted, but anyone on the path could be the server. It exists for lab servers with
//! throwaway certificates and is labelled as dangerous wherever it is used.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};

/// What the user asked for about certificates.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// `-k`: accept any certificate (dangerous).
    pub insecure: bool,
    /// `--cacert FILE`: extra roots to trust, in PEM.
    pub ca_file: Option<PathBuf>,
}

/// Why a TLS configuration could not be built.
#[derive(Debug)]
pub enum TlsSetupError {
    /// The `--cacert` file could not be read.
    ReadCaFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The `--cacert` file holds no usable certificate.
    NoCertificates { path: PathBuf },
    /// The host cannot be used as a TLS server name.
    BadServerName { host: String },
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsSetupError::ReadCaFile { path, source } => {
                write!(f, "cannot read --cacert {}: {source}", path.display())
            }
            TlsSetupError::NoCertificates { path } => write!(
                f,
                "--cacert {} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
                path.display()
            ),
            TlsSetupError::BadServerName { host } => {
                write!(f, "{host:?} is not a valid TLS server name")
            }
        }
    }
}

impl std::error::Error for TlsSetupError {}

/// Builds the rustls client configuration for these options.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions");
    let mut config = if options.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(danger::AcceptAnyCertificate::new(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &options.ca_file {
            add_pem_roots(&mut roots, path)?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The name the handshake presents (SNI) and checks the certificate against.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsSetupError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string()).map_err(|_| TlsSetupError::BadServerName {
        host: host.to_string(),
    })
}

fn add_pem_roots(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsSetupError> {
    let pem = std::fs::read(path).map_err(|source| TlsSetupError::ReadCaFile {
        path: path.to_path_buf(),
        source,
    })?;
    let mut added = 0;
    for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
        if roots.add(cert).is_ok() {
            added += 1;
        }
    }
    if added == 0 {
        return Err(TlsSetupError::NoCertificates {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// True when a rustls error means "the certificate was not trusted" (curl's exit 60) rather than
/// some other handshake failure (exit 35).
pub fn is_certificate_error(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
    )
}

/// Certificate handling that turns verification off. Only `-k` reaches it.
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
