//! What the cosign rounds found (issue 5), kept for `/admin/status`: the members whose root or
//! chain head disagreed with this leader's, and the last checkpoint appended. The rounds are
//! `crate::checkpointer`'s; this is only their record, shared through the node's context.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// What the cosign rounds found, for `/admin/status`.
#[derive(Debug, Default)]
pub struct Cosigning {
    mismatches: Mutex<BTreeMap<u64, serde_json::Value>>,
    last: Mutex<Option<serde_json::Value>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Cosigning {
    /// Members whose root or chain head disagreed with this leader's, with what they said.
    pub fn report(&self) -> serde_json::Value {
        serde_json::json!({
            "disagreeing_nodes": *lock(&self.mismatches),
            "last_checkpoint": *lock(&self.last),
        })
    }

    /// Records what member `node` said when it disagreed.
    pub fn record_mismatch(&self, node: u64, what: serde_json::Value) {
        lock(&self.mismatches).insert(node, what);
    }

    /// Records the checkpoint entry last appended.
    pub fn record_last(&self, what: serde_json::Value) {
        *lock(&self.last) = Some(what);
    }
}
