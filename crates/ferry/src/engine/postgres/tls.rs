//! TLS for PostgreSQL, with libpq's `sslmode` meanings: `disable` (and a URL
//! that names no sslmode) connect in plain text; `allow`, `prefer` and
//! `require` encrypt without checking the certificate, as libpq does;
//! `verify-ca` checks that a trusted CA signed it; `verify-full` also checks
//! the host name. `sslrootcert=PATH` names the CA (PEM); otherwise the
//! system's certificates are trusted.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What the URL asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Plain text.
    Disable,
    /// Encrypt, do not check the certificate (`allow`, `prefer`: fall back to plain text).
    Encrypt { required: bool },
    /// Encrypt and check the CA.
    VerifyCa,
    /// Encrypt and check the CA and the host name.
    VerifyFull,
}

/// The URL with `sslmode` and `sslrootcert` taken out (the driver does not
/// know every mode), the mode, and the CA file.
pub(crate) fn split(url: &str) -> Result<(String, Mode, Option<String>), String> {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return Ok((url.to_owned(), Mode::Disable, None));
    };
    let mut mode = Mode::Disable;
    let mut root = None;
    let mut kept = Vec::new();
    for (k, v) in parsed.query_pairs() {
        match k.as_ref() {
            "sslmode" => {
                mode = match v.as_ref() {
                    "disable" => Mode::Disable,
                    "allow" | "prefer" => Mode::Encrypt { required: false },
                    "require" => Mode::Encrypt { required: true },
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(format!(
                            "sslmode={other} is not a TLS mode; use disable, prefer, require, verify-ca or verify-full"
                        ));
                    }
                }
            }
            "sslrootcert" => root = Some(v.into_owned()),
            _ => kept.push((k.into_owned(), v.into_owned())),
        }
    }
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok((parsed.to_string(), mode, root))
}

/// The driver's own sslmode for `mode`.
pub(crate) fn driver_mode(mode: Mode) -> postgres::config::SslMode {
    match mode {
        Mode::Disable => postgres::config::SslMode::Disable,
        Mode::Encrypt { required: false } => postgres::config::SslMode::Prefer,
        _ => postgres::config::SslMode::Require,
    }
}

/// The connector for `mode`, or `None` for plain text.
pub(crate) fn connector(mode: Mode, root: Option<&str>) -> Result<Option<MakeRustlsConnect>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let check = match mode {
        Mode::Disable => return Ok(None),
        Mode::Encrypt { .. } => Check::Nothing,
        Mode::VerifyCa => Check::Ca,
        Mode::VerifyFull => Check::CaAndName,
    };
    let webpki = if check == Check::Nothing {
        None
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match root {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| format!("sslrootcert={path}: cannot read it ({e})"))?;
                for cert in certs {
                    let cert = cert.map_err(|e| format!("sslrootcert={path}: {e}"))?;
                    roots.add(cert).map_err(|e| format!("sslrootcert={path}: {e}"))?;
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("cannot build the certificate check: {e}"))?,
        )
    };
    let verifier = Arc::new(Verifier {
        check,
        webpki,
        provider,
    });
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(config)))
}

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// libpq's `require`: encrypted, the certificate unchecked.
    Nothing,
    /// libpq's `verify-ca`: the chain leads to a trusted CA; any name.
    Ca,
    /// libpq's `verify-full`: the chain and the host name.
    CaAndName,
}

/// The certificate check for one sslmode. Handshake signatures are verified
/// in every mode, with the provider's algorithms.
#[derive(Debug)]
struct Verifier {
    check: Check,
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(e))
                if self.check == Check::Ca && format!("{e:?}").starts_with("NotValidForName") =>
            {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_tls_parameters_out_of_the_url() {
        let (url, mode, root) =
            split("postgres://u:p@h/db?sslmode=verify-full&sslrootcert=/ca.pem&application_name=x").unwrap();
        assert_eq!(url, "postgres://u:p@h/db?application_name=x");
        assert_eq!(mode, Mode::VerifyFull);
        assert_eq!(root.as_deref(), Some("/ca.pem"));
        assert_eq!(split("postgres://h/db").unwrap().1, Mode::Disable);
        assert_eq!(split("postgres://h/db?sslmode=require").unwrap().0, "postgres://h/db");
        assert!(
            split("postgres://h/db?sslmode=maybe")
                .unwrap_err()
                .contains("verify-full")
        );
    }
}
