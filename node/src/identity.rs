//! A data dir belongs to one cluster and one node id: recorded on first start, checked on
//! every later one, so a node never joins the wrong cluster with another cluster's ledger.

use anyhow::{bail, Result};
use proto_types::Submission;

use crate::store::{Batch, Cf, Store};

const CLUSTER_ID: &[u8] = b"cluster_id";
const NODE_ID: &[u8] = b"node_id";

/// The cluster id: SHA-256 of the genesis submission's canonical bytes, hex.
pub fn cluster_id(genesis: &Submission) -> String {
    genesis.digest().to_hex()
}

/// Records the cluster and node id in a new data dir, or checks them in an existing one.
pub fn check_or_record(store: &Store, genesis: &Submission, node_id: u64) -> Result<()> {
    let want_cluster = cluster_id(genesis);
    match (
        store.get(Cf::SmMeta, CLUSTER_ID)?,
        store.get(Cf::SmMeta, NODE_ID)?,
    ) {
        (None, None) => {
            let mut b = Batch::new();
            b.put(Cf::SmMeta, CLUSTER_ID, want_cluster.as_bytes());
            b.put(Cf::SmMeta, NODE_ID, node_id.to_be_bytes());
            store.write(b)?;
            Ok(())
        }
        (Some(c), Some(n)) => {
            if c != want_cluster.as_bytes() {
                bail!(
                    "the data dir {} belongs to another cluster ({}), not to the one of this genesis ({want_cluster})",
                    store.path().display(),
                    String::from_utf8_lossy(&c)
                );
            }
            let have = <[u8; 8]>::try_from(n.as_slice())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            if have != node_id {
                bail!(
                    "the data dir {} belongs to node {have}, not to node {node_id}",
                    store.path().display()
                );
            }
            Ok(())
        }
        _ => bail!(
            "the data dir {} has a partial identity record; it is not a caseledger data dir",
            store.path().display()
        ),
    }
}
