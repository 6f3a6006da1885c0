//! TLS plumbing with rustls (ring provider): the client's trust settings (the shared `trust`
//! crate: system or bundled roots, `--ca`, `--insecure`) and the sink's certificate (PEM files, or a self-signed one made with rcgen).
//!
//! TLS is borrowed, not taught: the SMTP cores only say when it must start (STARTTLS) and this
//! module makes the connection that carries the rest.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use trust::danger::AcceptAnyCertificate;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Reads every certificate in a PEM file.
pub fn read_certificates(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    trust::read_certificates(path).map_err(|e| invalid(e.to_string()))
}

/// The client's TLS settings: the system's trust store (else Mozilla's roots, webpki-roots),
/// plus `ca` when given, whose certificates are roots and also pinned (a self-signed server
/// certificate that is exactly one of them is accepted); or no checking at all when
/// `insecure`. The second value says which roots, for `-v` (`None` when `insecure`).
pub fn client_config(
    ca: Option<&Path>,
    insecure: bool,
) -> io::Result<(Arc<rustls::ClientConfig>, Option<trust::Roots>)> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS set-up failed: {e}")))?;
    let (verifier, roots): (Arc<dyn rustls::client::danger::ServerCertVerifier>, _) = if insecure {
        (Arc::new(AcceptAnyCertificate::new(provider)), None)
    } else {
        let (verifier, roots) =
            trust::verifier(provider, ca).map_err(|e| invalid(e.to_string()))?;
        (verifier, Some(roots))
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok((Arc::new(config), roots))
}

/// The name to check the server's certificate against (a DNS name or an IP address).
pub fn server_name(host: &str) -> io::Result<ServerName<'static>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned())
        .map_err(|_| invalid(format!("{host:?} is not a valid TLS server name")))
}

/// A certificate and key for the sink, and the certificate in PEM for clients to trust.
pub struct ServerIdentity {
    pub config: Arc<rustls::ServerConfig>,
    /// The certificate chain as PEM (what `smtp send --ca` takes).
    pub certificate_pem: String,
    /// True when it was generated (self-signed) rather than read from files.
    pub generated: bool,
}

/// Reads a certificate chain and private key from PEM files.
pub fn server_identity_from_files(cert: &Path, key: &Path) -> io::Result<ServerIdentity> {
    let certs = read_certificates(cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            invalid(format!("{} holds no private key", key.display()))
        }
        rustls::pki_types::pem::Error::Io(e) => {
            invalid(format!("cannot open {}: {e}", key.display()))
        }
        e => invalid(format!("{} is not a PEM key file: {e}", key.display())),
    })?;
    let pem = std::fs::read_to_string(cert)?;
    Ok(ServerIdentity {
        config: server_config(certs, key_der)?,
        certificate_pem: pem,
        generated: false,
    })
}

/// The names a generated certificate is valid for: `localhost`, `127.0.0.1`, `::1` and
/// `hostname`.
fn certificate_names(hostname: &str) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !names.iter().any(|n| n == hostname) {
        names.push(hostname.to_owned());
    }
    names
}

/// A self-signed end-entity certificate (not a CA, so `--ca` accepts it as the server's own)
/// and its private key, both in PEM. Tests hand these to other servers (aiosmtpd).
pub fn self_signed_pem(hostname: &str) -> io::Result<(String, String)> {
    let certified = rcgen::generate_simple_self_signed(certificate_names(hostname))
        .map_err(|e| invalid(format!("cannot generate a certificate: {e}")))?;
    Ok((certified.cert.pem(), certified.key_pair.serialize_pem()))
}

/// A self-signed certificate for `localhost`, `127.0.0.1`, `::1` and `hostname`.
pub fn generated_server_identity(hostname: &str) -> io::Result<ServerIdentity> {
    let certified = rcgen::generate_simple_self_signed(certificate_names(hostname))
        .map_err(|e| invalid(format!("cannot generate a certificate: {e}")))?;
    let cert_der = certified.cert.der().clone();
    let key_der =
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    Ok(ServerIdentity {
        config: server_config(vec![cert_der], key_der)?,
        certificate_pem: certified.cert.pem(),
        generated: true,
    })
}

fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<Arc<rustls::ServerConfig>> {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS set-up failed: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(format!("the certificate and key do not work together: {e}")))?;
    Ok(Arc::new(config))
}
