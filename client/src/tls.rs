//! HTTPS to nodes whose API serves TLS (`[tls.api]` on the node): the client trusts the CA
//! certificates of a PEM file given with `--ca-cert`, `CASELEDGER_CA_CERT` or `ca_cert` in the
//! config file. rustls on the ring provider; no system roots are read.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// Why the trusted CA file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file is unreadable or holds no PEM certificate.
    #[error("CA certificates {path}: {message}")]
    Certificates {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("building the HTTPS client: {0}")]
    Client(#[from] reqwest::Error),
}

/// A client builder with the settings `Client` uses, trusting the CA certificates of `ca_file`.
pub fn builder_trusting(ca_file: &Path) -> Result<reqwest::ClientBuilder, TlsError> {
    let bad = |message: String| TlsError::Certificates {
        path: ca_file.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in the file".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .use_preconfigured_tls(config))
}
