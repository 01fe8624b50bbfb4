//! A client of nodes' peer ports for tests that speak to them directly: it presents a
//! certificate of a given key (a node's, an impostor's) and accepts the province's nodes.

use std::sync::Arc;
use std::time::Duration;

use caseledger_lab::pilot::Province;
use caseledger_node::tls::{Identity, PeerTls, StaticPins};
use ed25519_dalek::SigningKey;
use proto_types::crypto::PublicKey;

/// A peer-port TLS identity of `key` that pins every node `province` declares, and an HTTP
/// client over it (a fresh connection pool: a new client opens new handshakes).
pub fn peer_client(province: &Province, key: &SigningKey) -> (PeerTls, reqwest::Client) {
    let pins = StaticPins(
        province
            .nodes
            .iter()
            .map(|n| (n.decl.node_id, PublicKey::of(&n.key)))
            .collect(),
    );
    let tls = PeerTls::new(
        Identity::self_signed(key).expect("certificate"),
        Arc::new(pins),
        None,
    )
    .expect("tls");
    let http = tls
        .http_client(reqwest::Client::builder().timeout(Duration::from_secs(10)))
        .expect("client");
    (tls, http)
}
