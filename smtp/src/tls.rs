//! TLS plumbing with rustls (ring provider): the client's trust settings (web roots, `--ca`,
//! `--insecure`) and the sink's certificate (PEM files, or a self-signed one made with rcgen).
//!
//! TLS is borrowed, not taught: the SMTP cores only say when it must start (STARTTLS) and this
//! module makes the connection that carries the rest.

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Reads every certificate in a PEM file.
pub fn read_certificates(path: &Path) -> io::Result<Vec<CertificateDer<'static>>> {
    let file =
        File::open(path).map_err(|e| invalid(format!("cannot open {}: {e}", path.display())))?;
    let certs = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            invalid(format!(
                "{} is not a PEM certificate file: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "{} holds no certificate (expected -----BEGIN CERTIFICATE----- blocks)",
            path.display()
        )));
    }
    Ok(certs)
}

/// The client's TLS settings: Mozilla's roots (webpki-roots), plus `ca` when given; or no
/// checking at all when `insecure`.
pub fn client_config(ca: Option<&Path>, insecure: bool) -> io::Result<Arc<rustls::ClientConfig>> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS set-up failed: {e}")))?;
    let config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = ca {
            for cert in read_certificates(path)? {
                roots.add(cert).map_err(|e| {
                    invalid(format!("{} cannot be used as a CA: {e}", path.display()))
                })?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// The name to check the server's certificate against (a DNS name or an IP address).
pub fn server_name(host: &str) -> io::Result<ServerName<'static>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned())
        .map_err(|_| invalid(format!("{host:?} is not a valid TLS server name")))
}

/// `--insecure`: every certificate is accepted; signatures are still checked so the handshake
/// itself is sound.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

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
    let file =
        File::open(key).map_err(|e| invalid(format!("cannot open {}: {e}", key.display())))?;
    let key_der = rustls_pemfile::private_key(&mut BufReader::new(file))
        .map_err(|e| invalid(format!("{} is not a PEM key file: {e}", key.display())))?
        .ok_or_else(|| invalid(format!("{} holds no private key", key.display())))?;
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
