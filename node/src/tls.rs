//! Transport security: mutual TLS on the peer port, pinned to the registry, and optional TLS on
//! the API port.
//!
//! Peer port. A node's TLS key is its registry key: the certificate it presents carries the
//! Ed25519 key the registry declares for it (`NodeDecl::tls_key` when declared, else its
//! `signing_key`). Both sides verify the other with [`PinVerifier`]: a certificate is accepted
//! only if its SubjectPublicKeyInfo is the pinned key of a node of the registry *now* (genesis
//! and the `RegisterNode` entries applied so far, read through [`Pins`] at every handshake, so
//! a node registered later is admitted without a restart); the handshake signature is then
//! verified with that key as usual. Trust hangs on the key, not on a CA, so a certificate's
//! validity period is not checked. With a CA bundle configured (`[tls.peer] ca`), a
//! certificate must *also* chain to it (validity checked then): the CA is an additional
//! requirement, never a replacement for the pin. A peer refused here is refused during the
//! handshake, before any HTTP request (and so any Raft message) is read.
//!
//! API port. A certificate chain and key from files (`[tls.api]`); clients trust it with their
//! own CA file.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes, PublicKeyBytes};
use ed25519_dalek::SigningKey;
use proto_types::crypto::PublicKey;
use proto_types::payload::NodeDecl;
use proto_types::registry::NodeRecord;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS connections accepted but not yet served (in handshake, or waiting for the server to
/// take them): part of `server::serve::RESERVED_DESCRIPTORS`.
pub const MAX_HANDSHAKES: usize = 128;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The DER SubjectPublicKeyInfo of an Ed25519 public key.
pub fn ed25519_spki(key: &[u8; 32]) -> Vec<u8> {
    let mut spki = ED25519_SPKI_PREFIX.to_vec();
    spki.extend_from_slice(key);
    spki
}

/// The key a node's TLS certificate must carry: its declared TLS key, else its signing key.
pub fn pinned_key(decl: &NodeDecl) -> PublicKey {
    decl.tls_key.unwrap_or(decl.signing_key)
}

/// The node ids whose key in force (not rotated out, retired by a removal or revoked) pins
/// `spki` (docs/FORMAT.md §Membership).
pub fn matching_registry<'a>(nodes: impl Iterator<Item = &'a NodeRecord>, spki: &[u8]) -> Vec<u64> {
    nodes
        .filter(|n| {
            n.key_in_force()
                .is_some_and(|k| ed25519_spki(k.pinned_tls_key().as_bytes()) == spki)
        })
        .map(|n| n.node_id)
        .collect()
}

/// The ring provider: the only one the workspace builds (no aws-lc).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Who may connect: the node ids whose pinned key a certificate carries.
pub trait Pins: Send + Sync + 'static {
    /// The current nodes whose pinned TLS key is `spki` (DER SubjectPublicKeyInfo); empty
    /// when none is.
    fn nodes_for(&self, spki: &[u8]) -> Vec<u64>;
}

/// The node ids among the declarations `nodes` (genesis's) whose pinned key is `spki`.
pub fn matching<'a>(nodes: impl Iterator<Item = &'a NodeDecl>, spki: &[u8]) -> Vec<u64> {
    nodes
        .filter(|n| ed25519_spki(pinned_key(n).as_bytes()) == spki)
        .map(|n| n.node_id)
        .collect()
}

/// A fixed set of pins (in-process tests of the transport).
#[derive(Debug, Clone, Default)]
pub struct StaticPins(pub BTreeMap<u64, PublicKey>);

impl Pins for StaticPins {
    fn nodes_for(&self, spki: &[u8]) -> Vec<u64> {
        self.0
            .iter()
            .filter(|(_, k)| ed25519_spki(k.as_bytes()) == spki)
            .map(|(id, _)| *id)
            .collect()
    }
}

/// A node's TLS identity: the certificate chain it presents and the matching private key.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

fn pkcs8_v2(key: &SigningKey) -> Result<PrivatePkcs8KeyDer<'static>> {
    let pair = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: Some(PublicKeyBytes(key.verifying_key().to_bytes())),
    };
    let der = pair
        .to_pkcs8_der()
        .map_err(|e| anyhow::anyhow!("encoding the key as PKCS#8: {e}"))?;
    Ok(PrivatePkcs8KeyDer::from(der.as_bytes().to_vec()))
}

/// A self-signed certificate for an Ed25519 key, as PEM (what `caseledger-node init` writes).
pub fn self_signed_pem(key: &SigningKey) -> Result<String> {
    Ok(self_signed(key)?.pem())
}

fn self_signed(key: &SigningKey) -> Result<rcgen::Certificate> {
    let der = pkcs8_v2(key)?;
    let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_ED25519)
        .context("loading the node key for its certificate")?;
    let mut params = rcgen::CertificateParams::new(vec!["caseledger-node".to_owned()])
        .context("certificate parameters")?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!(
            "caseledger node ed25519:{}",
            hex::encode(key.verifying_key().to_bytes())
        ),
    );
    params
        .self_signed(&pair)
        .context("self-signing the node certificate")
}

/// Reads every certificate of a PEM file.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading certificates {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading certificates {}", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no PEM certificate", path.display());
    }
    Ok(certs)
}

fn spki_of(cert: &CertificateDer<'_>) -> Result<Vec<u8>, rustls::Error> {
    let ee = webpki::EndEntityCert::try_from(cert)
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    Ok(ee.subject_public_key_info().as_ref().to_vec())
}

impl Identity {
    /// A self-signed certificate for the node key, made in memory.
    pub fn self_signed(key: &SigningKey) -> Result<Identity> {
        let cert = self_signed(key)?;
        Ok(Identity {
            chain: vec![cert.der().clone()],
            key: pkcs8_v2(key)?.into(),
        })
    }

    /// The chain in `cert_file` (leaf first), which must carry the public half of `key`.
    pub fn from_cert_file(cert_file: &Path, key: &SigningKey) -> Result<Identity> {
        let chain = read_certs(cert_file)?;
        let spki =
            spki_of(&chain[0]).map_err(|e| anyhow::anyhow!("{}: {e}", cert_file.display()))?;
        if spki != ed25519_spki(&key.verifying_key().to_bytes()) {
            bail!(
                "the certificate {} does not carry this node's key (the key the registry pins)",
                cert_file.display()
            );
        }
        Ok(Identity {
            chain,
            key: pkcs8_v2(key)?.into(),
        })
    }

    /// A chain and any private key (PKCS#8, PKCS#1 or SEC1 PEM), for the API port.
    pub fn from_files(cert_file: &Path, key_file: &Path) -> Result<Identity> {
        let chain = read_certs(cert_file)?;
        let key = PrivateKeyDer::from_pem_file(key_file)
            .with_context(|| format!("reading the private key {}", key_file.display()))?;
        Ok(Identity { chain, key })
    }
}

/// Trust anchors read from a PEM bundle.
#[derive(Debug, Clone)]
pub struct CaBundle(Vec<rustls::pki_types::TrustAnchor<'static>>);

impl CaBundle {
    /// Reads a PEM bundle of CA certificates.
    pub fn read(path: &Path) -> Result<CaBundle> {
        let anchors = read_certs(path)?
            .iter()
            .map(|c| webpki::anchor_from_trusted_cert(c).map(|a| a.to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("reading CA certificates {}", path.display()))?;
        Ok(CaBundle(anchors))
    }
}

/// The verifier of both sides of the peer port: pinned key, then (optionally) the CA chain.
pub struct PinVerifier {
    pins: Arc<dyn Pins>,
    ca: Option<CaBundle>,
    algs: WebPkiSupportedAlgorithms,
}

impl fmt::Debug for PinVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinVerifier")
            .field("ca", &self.ca.is_some())
            .finish_non_exhaustive()
    }
}

impl PinVerifier {
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        usage: webpki::KeyUsage,
    ) -> Result<(), rustls::Error> {
        let spki = spki_of(end_entity)?;
        if self.pins.nodes_for(&spki).is_empty() {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(NotAMember)),
            )));
        }
        if let Some(ca) = &self.ca {
            let ee = webpki::EndEntityCert::try_from(end_entity)
                .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
            ee.verify_for_usage(self.algs.all, &ca.0, intermediates, now, usage, None, None)
                .map_err(|e| {
                    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                        Arc::new(e),
                    )))
                })?;
        }
        Ok(())
    }
}

/// Why a node's peer port did not prove it is the node it should be.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// It could not be reached.
    #[error("{0}")]
    Unreachable(String),
    /// It answered with a certificate that is not the pinned one (or none at all).
    #[error("{0}")]
    NotPinned(String),
}

/// Why a pinned-key check failed.
#[derive(Debug, thiserror::Error)]
#[error("the certificate's key is not the pinned key of a current cluster node")]
pub struct NotAMember;

impl ClientCertVerifier for PinVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(
            end_entity,
            intermediates,
            now,
            webpki::KeyUsage::client_auth(),
        )?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The name peers are dialled by (an address) proves nothing; the pinned key does.
        self.check(
            end_entity,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Mutual TLS of the peer port: the server and client configurations of one node.
#[derive(Clone)]
pub struct PeerTls {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    pins: Arc<dyn Pins>,
}

impl fmt::Debug for PeerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerTls").finish_non_exhaustive()
    }
}

impl PeerTls {
    /// Both sides for a node presenting `identity`, accepting peers by `pins` (and `ca`).
    pub fn new(identity: Identity, pins: Arc<dyn Pins>, ca: Option<CaBundle>) -> Result<PeerTls> {
        let provider = provider();
        let verifier = Arc::new(PinVerifier {
            pins: pins.clone(),
            ca,
            algs: provider.signature_verification_algorithms,
        });
        let server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .context("TLS 1.3 with the ring provider")?
            .with_client_cert_verifier(verifier.clone())
            .with_single_cert(identity.chain.clone(), identity.key.clone_key())
            .context("the node's TLS certificate and key")?;
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .context("TLS 1.3 with the ring provider")?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(identity.chain, identity.key)
            .context("the node's TLS certificate and key")?;
        Ok(PeerTls {
            server: Arc::new(server),
            client: Arc::new(client),
            pins,
        })
    }

    /// A pooled HTTPS client presenting this node's certificate and accepting only pinned peers.
    pub fn http_client(&self, builder: reqwest::ClientBuilder) -> reqwest::Result<reqwest::Client> {
        builder
            .use_preconfigured_tls((*self.client).clone())
            .https_only(true)
            .build()
    }

    /// Connects to `raft_addr` and checks that the certificate there carries the key the
    /// registry pins for node `node_id` (not merely some member's): a learner is added only
    /// after this, so a node with an unknown certificate never enters the membership.
    pub async fn probe(&self, raft_addr: &str, node_id: u64) -> Result<(), ProbeError> {
        let connect = async {
            let tcp = TcpStream::connect(raft_addr)
                .await
                .map_err(|e| ProbeError::Unreachable(format!("connecting to {raft_addr}: {e}")))?;
            let name = ServerName::try_from("caseledger-node").expect("a valid DNS name");
            tokio_rustls::TlsConnector::from(self.client.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| ProbeError::NotPinned(format!("TLS handshake with {raft_addr}: {e}")))
        };
        let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, connect)
            .await
            .map_err(|_| {
                ProbeError::Unreachable(format!("TLS handshake with {raft_addr} timed out"))
            })??;
        let nodes = match stream.get_ref().1.peer_certificates() {
            Some([leaf, ..]) => spki_of(leaf)
                .map(|spki| self.pins.nodes_for(&spki))
                .map_err(|e| ProbeError::NotPinned(e.to_string()))?,
            _ => Vec::new(),
        };
        if nodes.contains(&node_id) {
            Ok(())
        } else {
            Err(ProbeError::NotPinned(format!(
                "the certificate at {raft_addr} does not carry the key the registry pins for node {node_id} (it is node(s) {nodes:?})"
            )))
        }
    }

    /// Who may connect (the registry's keys in force).
    pub fn pins(&self) -> Arc<dyn Pins> {
        self.pins.clone()
    }

    /// Accepts TLS connections on `listener`, naming each peer's node ids; a handshake not
    /// done within `handshake_timeout` is dropped.
    pub fn listen(&self, listener: TcpListener, handshake_timeout: Duration) -> TlsListener {
        TlsListener::spawn(
            listener,
            TlsAcceptor::from(self.server.clone()),
            Some(self.pins.clone()),
            handshake_timeout,
        )
    }
}

/// The API port's TLS server configuration.
pub fn api_acceptor(identity: Identity) -> Result<TlsAcceptor> {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS with the ring provider")?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .context("the API's TLS certificate and key")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// An HTTPS client trusting the CA certificates of `ca_file` (the API port's certificates).
pub fn api_client(ca_file: &Path, builder: reqwest::ClientBuilder) -> Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs(ca_file)? {
        roots
            .add(cert)
            .with_context(|| format!("a CA certificate of {}", ca_file.display()))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS with the ring provider")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    builder
        .use_preconfigured_tls(config)
        .build()
        .context("building the HTTPS client")
}

/// Who is at the other end of an accepted connection.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    /// The remote address.
    pub addr: SocketAddr,
    /// The node ids whose pinned key the client certificate carries (peer port; empty on the
    /// API port), as of the handshake.
    pub nodes: Vec<u64>,
    /// The client certificate's SubjectPublicKeyInfo (peer port), to check again per request.
    pub spki: Option<Arc<[u8]>>,
}

/// A listener that completes TLS handshakes off the accept path (a slow or hostile client
/// cannot stall others) and yields only connections whose handshake succeeded.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, PeerInfo, OwnedSemaphorePermit)>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsListener {
    /// Accepts on `listener` with `acceptor`; `pins` names the peers (peer port); a handshake
    /// not done within `handshake_timeout` is dropped.
    pub fn spawn(
        listener: TcpListener,
        acceptor: TlsAcceptor,
        pins: Option<Arc<dyn Pins>>,
        handshake_timeout: Duration,
    ) -> TlsListener {
        let local = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, ready) = mpsc::channel(64);
        // A connection is accepted only with a permit, held until the server takes it: at
        // most MAX_HANDSHAKES sockets wait here while the server is at its connection cap.
        let pending = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        let task = tokio::spawn(async move {
            loop {
                let Ok(permit) = pending.clone().acquire_owned().await else {
                    return;
                };
                let (tcp, addr) = match listener.accept().await {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of descriptors and the like: back off rather than spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let (acceptor, tx, pins) = (acceptor.clone(), tx.clone(), pins.clone());
                tokio::spawn(async move {
                    let stream =
                        match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::warn!(%addr, error = %e, "TLS handshake refused");
                                return;
                            }
                            Err(_) => {
                                tracing::warn!(%addr, "TLS handshake timed out");
                                return;
                            }
                        };
                    let spki: Option<Arc<[u8]>> = match stream.get_ref().1.peer_certificates() {
                        Some([leaf, ..]) => spki_of(leaf).ok().map(Arc::from),
                        _ => None,
                    };
                    let nodes = match (&pins, &spki) {
                        (Some(pins), Some(spki)) => pins.nodes_for(spki),
                        _ => Vec::new(),
                    };
                    let _ = tx
                        .send((stream, PeerInfo { addr, nodes, spki }, permit))
                        .await;
                });
            }
        });
        TlsListener { local, ready, task }
    }
}

impl TlsListener {
    /// The next connection whose handshake succeeded, with who is at its other end.
    pub async fn next(&mut self) -> (TlsStream<TcpStream>, PeerInfo) {
        match self.ready.recv().await {
            Some((stream, peer, _handshake)) => (stream, peer),
            // The accept task ended (it never does while the listener lives): stop yielding.
            None => std::future::pending().await,
        }
    }

    /// The local address, as connect info (no peer).
    pub fn local_info(&self) -> PeerInfo {
        PeerInfo {
            addr: self.local,
            nodes: Vec::new(),
            spki: None,
        }
    }
}
