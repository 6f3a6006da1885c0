//! TLS for `https://` URLs and `--tls`, borrowed from rustls with the ring provider.
//!
//! Trust is decided by the shared `trust` crate (the same as `smtp send`): the system's trust
//! store when there is one, else Mozilla's roots bundled in the program (webpki-roots), plus any
//! `--cacert FILE` (PEM), whose certificates are both roots and pinned certificates: a lab
//! server's self-signed certificate is accepted when it is exactly one of them. `-k` swaps the
//! verifier for [`danger::AcceptAnyCertificate`], which skips the certificate check entirely:
//! the connection is still encrypted, but anyone on the path could be the server. It exists for
//! lab servers with throwaway certificates and is labelled as dangerous wherever it is used.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::ClientConfig;

pub use trust::danger;
pub use trust::Roots;

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
    /// The `--cacert` file could not be read or holds no certificate.
    CaFile(trust::TrustError),
    /// The host cannot be used as a TLS server name.
    BadServerName { host: String },
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsSetupError::CaFile(e) => write!(f, "--cacert: {e}"),
            TlsSetupError::BadServerName { host } => {
                write!(f, "{host:?} is not a valid TLS server name")
            }
        }
    }
}

impl std::error::Error for TlsSetupError {}

/// Builds the rustls client configuration for these options, and says which roots it trusts
/// (`None` with `-k`).
pub fn client_config(
    options: &TlsOptions,
) -> Result<(Arc<ClientConfig>, Option<Roots>), TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions");
    let (mut config, roots) = if options.insecure {
        let config = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(danger::AcceptAnyCertificate::new(provider)))
            .with_no_client_auth();
        (config, None)
    } else {
        let (verifier, roots) =
            trust::verifier(provider, options.ca_file.as_deref()).map_err(TlsSetupError::CaFile)?;
        let config = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        (config, Some(roots))
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), roots))
}

/// The name the handshake presents (SNI) and checks the certificate against.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsSetupError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string()).map_err(|_| TlsSetupError::BadServerName {
        host: host.to_string(),
    })
}

/// True when a rustls error means "the certificate was not trusted" (curl's exit 60) rather than
/// some other handshake failure (exit 35).
pub fn is_certificate_error(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
    )
}
