//! The registry: organisations, their keys with validity windows, node identities and the
//! policy in force, built only from ledger entries (genesis, key-lifecycle and policy entries).
//! It answers "which key was valid for this signer at this time".

use crate::crypto::{self, context, PublicKey};
use crate::domain::{Level, OrgKind};
use crate::encoding::encode;
use crate::ids::{KeyId, NodeId, OrgId};
use crate::payload::{
    Action, Approval, Genesis, KeyDecl, KeyOp, MemberOp, NodeAddr, NodeDecl, OrganisationDecl,
    Payload, Signer,
};
use crate::policy::Policy;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A key as the registry knows it, with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The key's id within its organisation.
    pub key_id: KeyId,
    /// The key.
    pub public_key: PublicKey,
    /// First instant it may sign.
    pub valid_from: Timestamp,
    /// First instant it may no longer sign (expiry or rotation), if any.
    pub valid_until: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// Why it was revoked.
    pub revocation_reason: Option<String>,
}

impl KeyRecord {
    fn from_decl(k: &KeyDecl) -> Self {
        Self {
            key_id: k.key_id.clone(),
            public_key: k.public_key,
            valid_from: k.valid_from,
            valid_until: k.valid_until,
            revoked_at: None,
            revocation_reason: None,
        }
    }

    /// Whether the key may sign at `at`.
    pub fn status_at(&self, at: Timestamp) -> Result<(), KeyError> {
        window_status(self.valid_from, self.valid_until, self.revoked_at, at)
    }
}

/// An organisation of the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    /// Its id.
    pub id: OrgId,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: OrgKind,
    /// Its level.
    pub level: Level,
    /// Its parent, if any.
    pub parent: Option<OrgId>,
    /// The city it serves.
    pub city: String,
    /// Every key it ever had, in the order recorded.
    pub keys: Vec<KeyRecord>,
}

impl Organisation {
    fn from_decl(d: &OrganisationDecl) -> Self {
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            kind: d.kind,
            level: d.level,
            parent: d.parent.clone(),
            city: d.city.clone(),
            keys: d.keys.iter().map(KeyRecord::from_decl).collect(),
        }
    }

    /// A key by id.
    pub fn key(&self, key_id: &KeyId) -> Option<&KeyRecord> {
        self.keys.iter().find(|k| &k.key_id == key_id)
    }
}

/// A node's key pair as the registry knows it, with its validity (docs/FORMAT.md §Membership).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeKeyRecord {
    /// The key it signs checkpoints, tree heads and API requests with.
    pub signing_key: PublicKey,
    /// The key its TLS certificate carries, if not the signing key.
    pub tls_key: Option<PublicKey>,
    /// First instant it may sign (genesis keys: from the beginning).
    pub valid_from: Timestamp,
    /// First instant it may no longer sign: rotated out, or the node removed.
    pub valid_until: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// Why it was revoked.
    pub revocation_reason: Option<String>,
}

impl NodeKeyRecord {
    fn new(signing_key: PublicKey, tls_key: Option<PublicKey>, valid_from: Timestamp) -> Self {
        Self {
            signing_key,
            tls_key,
            valid_from,
            valid_until: None,
            revoked_at: None,
            revocation_reason: None,
        }
    }

    /// Whether the key may sign at `at` (the same rule as organisations' keys).
    pub fn status_at(&self, at: Timestamp) -> Result<(), KeyError> {
        window_status(self.valid_from, self.valid_until, self.revoked_at, at)
    }

    /// Whether no later entry has ended it yet: the key the node's certificate must carry now.
    pub fn in_force(&self) -> bool {
        self.valid_until.is_none() && self.revoked_at.is_none()
    }

    /// The key its TLS certificate must carry: `tls_key`, else the signing key.
    pub fn pinned_tls_key(&self) -> PublicKey {
        self.tls_key.unwrap_or(self.signing_key)
    }
}

/// Whether a key with this validity window may sign at `at` (docs/FORMAT.md §Apply step 4):
/// from `valid_from`, until `valid_until` and `revoked_at` (each excluded).
fn window_status(
    valid_from: Timestamp,
    valid_until: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
    at: Timestamp,
) -> Result<(), KeyError> {
    if at < valid_from {
        return Err(KeyError::NotYetValid);
    }
    if revoked_at.is_some_and(|r| at >= r) {
        return Err(KeyError::Revoked);
    }
    if valid_until.is_some_and(|u| at >= u) {
        return Err(KeyError::Expired);
    }
    Ok(())
}

/// A node identity: the department that runs it and every key it ever had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Raft node id.
    pub node_id: NodeId,
    /// The department that runs it.
    pub org: OrgId,
    /// Its keys in the order recorded; at most the last is in force.
    pub keys: Vec<NodeKeyRecord>,
}

impl NodeRecord {
    /// The key valid at `at`: the latest whose window holds `at`, else the latest key's fault.
    pub fn key_at(&self, at: Timestamp) -> Result<&NodeKeyRecord, KeyError> {
        let mut fault = KeyError::UnknownNode;
        for k in self.keys.iter().rev() {
            match k.status_at(at) {
                Ok(()) => return Ok(k),
                Err(e) if fault == KeyError::UnknownNode => fault = e,
                Err(_) => {}
            }
        }
        Err(fault)
    }

    /// The key in force now (not rotated out, retired by a removal or revoked), if any.
    pub fn key_in_force(&self) -> Option<&NodeKeyRecord> {
        self.keys.last().filter(|k| k.in_force())
    }

    fn key_in_force_mut(&mut self) -> Option<&mut NodeKeyRecord> {
        self.keys.last_mut().filter(|k| k.in_force())
    }
}

/// A member of the cluster as the ledger approved it (docs/FORMAT.md §Membership).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Whether it votes (else a learner).
    pub voter: bool,
    /// Where it listens, as the last approved change says (none for the founding node, whose
    /// address is the bootstrap membership's).
    pub addr: Option<NodeAddr>,
    /// When the change that gave it this role or address was recorded.
    pub since: Timestamp,
}

/// Why a signer has no usable key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyError {
    /// No such organisation in the registry.
    #[error("unknown organisation")]
    UnknownOrganisation,
    /// The organisation has no key with this id.
    #[error("unknown key")]
    UnknownKey,
    /// No such node in the registry.
    #[error("unknown node")]
    UnknownNode,
    /// The key's validity starts later.
    #[error("key not yet valid")]
    NotYetValid,
    /// The key expired or was rotated out.
    #[error("key expired or rotated out")]
    Expired,
    /// The key was revoked before this time.
    #[error("key revoked")]
    Revoked,
}

/// Why a registry change is not allowed (each maps to a rejection rule in `apply`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Fewer valid approvals from distinct approver organisations than the policy requires.
    #[error("{valid} valid approvals from distinct approvers, {required} required")]
    InsufficientApprovals {
        /// Distinct approving organisations whose approval verified.
        valid: u32,
        /// k.
        required: u32,
    },
    /// An organisation, key or node id is declared twice.
    #[error("{0} already exists")]
    Duplicate(String),
    /// The change names an organisation, key or node that does not exist.
    #[error("{0} does not exist")]
    Missing(String),
    /// The payload signer may not make this change.
    #[error("the signer may not make this change: {0}")]
    WrongSigner(String),
    /// A declared key is not a usable Ed25519 key (not a curve point, or of small order).
    #[error("{0} is not a usable Ed25519 key (malformed or of small order)")]
    WeakKey(String),
    /// A declaration is inconsistent (e.g. an empty key list, a parent that does not exist).
    #[error("invalid declaration: {0}")]
    Invalid(String),
    /// Every valid approval comes from the organisation the change concerns: it may not
    /// decide its own node's membership alone.
    #[error(
        "approvals only from {0}, whose node the change concerns: another approver must approve"
    )]
    OnlyInterestedParty(OrgId),
    /// The change does not fit the membership as it stands (docs/FORMAT.md §Membership).
    #[error("membership: {0}")]
    Membership(String),
}

/// Organisations, keys, nodes and the policy in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// The cluster's name from genesis.
    pub cluster_name: String,
    /// Organisations by id.
    pub organisations: BTreeMap<OrgId, Organisation>,
    /// Node identities by node id.
    pub nodes: BTreeMap<NodeId, NodeRecord>,
    /// The cluster's membership as the ledger approved it: after genesis the first node genesis
    /// declares (the founder, which bootstraps), then whatever membership changes approved.
    pub members: BTreeMap<NodeId, Member>,
    /// The policy in force.
    pub policy: Policy,
}

impl Registry {
    /// The registry that a genesis declares.
    pub fn from_genesis(g: &Genesis) -> Result<Self, RegistryError> {
        let mut reg = Self {
            cluster_name: g.cluster_name.clone(),
            organisations: BTreeMap::new(),
            nodes: BTreeMap::new(),
            members: BTreeMap::new(),
            policy: g.policy.clone(),
        };
        for o in &g.organisations {
            reg.register_organisation(o)?;
        }
        for n in &g.nodes {
            reg.register_node(n, Timestamp::from_millis(0))?;
        }
        if let Some(founder) = g.nodes.first() {
            reg.members.insert(
                founder.node_id,
                Member {
                    voter: true,
                    addr: None,
                    since: Timestamp::from_millis(0),
                },
            );
        }
        for a in &reg.policy.approvals.approvers {
            if !reg.organisations.contains_key(a) {
                return Err(RegistryError::Missing(format!("approver {a}")));
            }
        }
        Ok(reg)
    }

    /// An organisation by id.
    pub fn organisation(&self, id: &OrgId) -> Option<&Organisation> {
        self.organisations.get(id)
    }

    /// The key a signer was allowed to sign with at `at`.
    pub fn key_for(&self, signer: &Signer, at: Timestamp) -> Result<PublicKey, KeyError> {
        match signer {
            Signer::Org(k) => {
                let org = self
                    .organisations
                    .get(&k.org)
                    .ok_or(KeyError::UnknownOrganisation)?;
                let rec = org.key(&k.key_id).ok_or(KeyError::UnknownKey)?;
                rec.status_at(at)?;
                Ok(rec.public_key)
            }
            Signer::Node(id) => self
                .nodes
                .get(id)
                .ok_or(KeyError::UnknownNode)?
                .key_at(at)
                .map(|k| k.signing_key),
        }
    }

    /// Every public key the registry holds under `signer`'s name, whatever its state
    /// (revoked, expired, not yet valid): to check that a caller holds a key before it is told
    /// the key's state, which nobody else may learn.
    pub fn keys_named(&self, signer: &Signer) -> Vec<PublicKey> {
        match signer {
            Signer::Org(k) => self
                .organisations
                .get(&k.org)
                .and_then(|o| o.key(&k.key_id))
                .map(|r| vec![r.public_key])
                .unwrap_or_default(),
            Signer::Node(id) => self
                .nodes
                .get(id)
                .map(|n| n.keys.iter().map(|k| k.signing_key).collect())
                .unwrap_or_default(),
        }
    }

    /// The nodes whose signing key is valid at `at`, with that key: who may cosign a
    /// checkpoint recorded at `at` (a removed or revoked node no longer counts).
    pub fn cosigners_at(&self, at: Timestamp) -> Vec<(NodeId, PublicKey)> {
        self.nodes
            .values()
            .filter_map(|n| n.key_at(at).ok().map(|k| (n.node_id, k.signing_key)))
            .collect()
    }

    /// Whether the ledger approved `id` as a voter.
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.members.get(&id).is_some_and(|m| m.voter)
    }

    /// The key that must have signed `payload` at `at`: the registry's key for the signer, or,
    /// for the registration of a new organisation, the key it declares for itself (proof of
    /// possession: a registration is signed by the new organisation's own key).
    pub fn key_for_payload(&self, payload: &Payload, at: Timestamp) -> Result<PublicKey, KeyError> {
        if let (Action::KeyLifecycle(kl), Signer::Org(k)) = (&payload.action, &payload.signer) {
            if let KeyOp::RegisterOrganisation(decl) = &kl.op {
                if k.org == decl.id && !self.organisations.contains_key(&decl.id) {
                    let d = decl
                        .keys
                        .iter()
                        .find(|d| d.key_id == k.key_id)
                        .ok_or(KeyError::UnknownKey)?;
                    let rec = KeyRecord::from_decl(d);
                    rec.status_at(at)?;
                    return Ok(rec.public_key);
                }
            }
        }
        self.key_for(&payload.signer, at)
    }

    /// Checks k-of-n approvals of a governed change at `at`: only approvals from distinct
    /// approver organisations, with keys valid at `at` (a revoked key's approval does not
    /// count), whose signature verifies over the change, are counted.
    pub fn check_approvals<T: Serialize>(
        &self,
        change: &T,
        approvals: &[Approval],
        at: Timestamp,
    ) -> Result<(), RegistryError> {
        let orgs = self.approving_orgs(context::APPROVAL, &encode(change), approvals, at);
        self.enough(&orgs)
    }

    /// The distinct approver organisations whose approval verifies over `context ‖ bytes`.
    fn approving_orgs(
        &self,
        context: &[u8],
        bytes: &[u8],
        approvals: &[Approval],
        at: Timestamp,
    ) -> BTreeSet<OrgId> {
        let approvers = &self.policy.approvals.approvers;
        let mut orgs = BTreeSet::new();
        for a in approvals {
            if !approvers.contains(&a.key.org) {
                continue;
            }
            let Ok(key) = self.key_for(&Signer::Org(a.key.clone()), at) else {
                continue;
            };
            if crypto::verify(&key, context, bytes, &a.signature).is_ok() {
                orgs.insert(a.key.org.clone());
            }
        }
        orgs
    }

    fn enough(&self, orgs: &BTreeSet<OrgId>) -> Result<(), RegistryError> {
        let valid = orgs.len() as u32;
        let required = self.policy.approvals.required;
        if valid < required {
            return Err(RegistryError::InsufficientApprovals { valid, required });
        }
        Ok(())
    }

    /// Applies a key-lifecycle operation signed by `signer` at `at` (approvals already
    /// checked). Returns the registry after the change; `self` is unchanged on error.
    pub fn with_key_op(
        &self,
        op: &KeyOp,
        signer: &Signer,
        at: Timestamp,
    ) -> Result<Self, RegistryError> {
        let signer_org = match signer {
            Signer::Org(k) => &k.org,
            Signer::Node(_) => {
                return Err(RegistryError::WrongSigner(
                    "nodes sign no registry changes".into(),
                ))
            }
        };
        let mut next = self.clone();
        match op {
            KeyOp::RegisterOrganisation(decl) => {
                if signer_org != &decl.id {
                    return Err(RegistryError::WrongSigner(
                        "a registration is signed by the new organisation's own key".into(),
                    ));
                }
                next.register_organisation(decl)?;
            }
            KeyOp::AddKey { org, key } => {
                next.require_self(signer_org, org)?;
                let o = next.org_mut(org)?;
                if o.key(&key.key_id).is_some() {
                    return Err(RegistryError::Duplicate(format!(
                        "key {org}/{}",
                        key.key_id
                    )));
                }
                check_key(&key.public_key, &format!("key {org}/{}", key.key_id))?;
                o.keys.push(KeyRecord::from_decl(key));
            }
            KeyOp::RotateKey { org, old, new } => {
                next.require_self(signer_org, org)?;
                let o = next.org_mut(org)?;
                if o.key(&new.key_id).is_some() {
                    return Err(RegistryError::Duplicate(format!(
                        "key {org}/{}",
                        new.key_id
                    )));
                }
                let rec = o
                    .keys
                    .iter_mut()
                    .find(|k| &k.key_id == old)
                    .ok_or_else(|| RegistryError::Missing(format!("key {org}/{old}")))?;
                rec.valid_until = Some(rec.valid_until.map_or(at, |u| u.min(at)));
                check_key(&new.public_key, &format!("key {org}/{}", new.key_id))?;
                o.keys.push(KeyRecord::from_decl(new));
            }
            KeyOp::RevokeKey {
                org,
                key_id,
                reason,
            } => {
                let approver = self.policy.approvals.approvers.contains(signer_org);
                if signer_org != org && !approver {
                    return Err(RegistryError::WrongSigner(
                        "a key is revoked by its organisation or an approver".into(),
                    ));
                }
                let o = next.org_mut(org)?;
                let rec = o
                    .keys
                    .iter_mut()
                    .find(|k| &k.key_id == key_id)
                    .ok_or_else(|| RegistryError::Missing(format!("key {org}/{key_id}")))?;
                if rec.revoked_at.is_some() {
                    return Err(RegistryError::Duplicate(format!(
                        "revocation of {org}/{key_id}"
                    )));
                }
                rec.revoked_at = Some(at);
                rec.revocation_reason = Some(reason.clone());
            }
            KeyOp::RegisterNode(n) => {
                next.require_self(signer_org, &n.org)?;
                next.register_node(n, at)?;
            }
            KeyOp::RotateNodeKey {
                node_id,
                signing_key,
                tls_key,
            } => {
                let node = next.node_mut(*node_id)?;
                let org = node.org.clone();
                self.require_self(signer_org, &org)?;
                let what = format!("node {node_id}");
                check_key(signing_key, &format!("{what} signing key"))?;
                if let Some(t) = tls_key {
                    check_key(t, &format!("{what} TLS key"))?;
                }
                let used = |k: &PublicKey| {
                    node.keys
                        .iter()
                        .any(|r| r.signing_key == *k || r.tls_key == Some(*k))
                };
                if used(signing_key) || tls_key.as_ref().is_some_and(used) {
                    return Err(RegistryError::Duplicate(format!(
                        "a key {what} had before (a node never returns to an old key)"
                    )));
                }
                if let Some(k) = node.key_in_force_mut() {
                    k.valid_until = Some(at);
                }
                node.keys
                    .push(NodeKeyRecord::new(*signing_key, *tls_key, at));
            }
            KeyOp::RevokeNodeKey { node_id, reason } => {
                let org = self
                    .nodes
                    .get(node_id)
                    .ok_or_else(|| RegistryError::Missing(format!("node {node_id}")))?
                    .org
                    .clone();
                let approver = self.policy.approvals.approvers.contains(signer_org);
                if signer_org != &org && !approver {
                    return Err(RegistryError::WrongSigner(
                        "a node key is revoked by its organisation or an approver".into(),
                    ));
                }
                let rec = next
                    .node_mut(*node_id)?
                    .keys
                    .last_mut()
                    .filter(|k| k.revoked_at.is_none())
                    .ok_or_else(|| {
                        RegistryError::Duplicate(format!("revocation of node {node_id}'s key"))
                    })?;
                rec.revoked_at = Some(at);
                rec.revocation_reason = Some(reason.clone());
                next.members.remove(node_id);
            }
        }
        Ok(next)
    }

    /// Applies a membership change signed by `signer_org` at `at` with its approvals: the
    /// signer is the node's organisation or an approver; k-of-n approvers approve
    /// `encode(op)` (membership-approval context), at least one of them not the node's
    /// organisation; and the change fits the membership as it stands (docs/FORMAT.md
    /// §Membership). Returns the registry after the change; `self` is unchanged on error.
    pub fn with_member_op(
        &self,
        op: &MemberOp,
        approvals: &[Approval],
        signer_org: &OrgId,
        at: Timestamp,
    ) -> Result<Self, RegistryError> {
        let id = op.node_id();
        let node = self
            .nodes
            .get(&id)
            .ok_or_else(|| RegistryError::Missing(format!("node {id}")))?;
        if signer_org != &node.org && !self.policy.approvals.approvers.contains(signer_org) {
            return Err(RegistryError::WrongSigner(format!(
                "a change of node {id} is proposed by {} or an approver",
                node.org
            )));
        }
        let orgs = self.approving_orgs(context::MEMBERSHIP_APPROVAL, &encode(op), approvals, at);
        self.enough(&orgs)?;
        if orgs.iter().all(|o| o == &node.org) {
            return Err(RegistryError::OnlyInterestedParty(node.org.clone()));
        }
        let refuse = |m: String| Err(RegistryError::Membership(m));
        let mut next = self.clone();
        let member = next.members.get(&id).cloned();
        match (op, member) {
            (MemberOp::AddLearner { addr, .. }, None) => {
                if node.key_in_force().is_none() {
                    return refuse(format!(
                        "node {id} has no key in force (removed or revoked): rotate its key first"
                    ));
                }
                check_addr(addr)?;
                next.members.insert(
                    id,
                    Member {
                        voter: false,
                        addr: Some(addr.clone()),
                        since: at,
                    },
                );
            }
            (MemberOp::AddLearner { .. }, Some(_)) => {
                return refuse(format!("node {id} is already a member"))
            }
            (MemberOp::Promote { .. }, Some(m)) if !m.voter => {
                next.members.insert(
                    id,
                    Member {
                        voter: true,
                        since: at,
                        ..m
                    },
                );
            }
            (MemberOp::Demote { .. }, Some(m)) if m.voter => {
                next.members.insert(
                    id,
                    Member {
                        voter: false,
                        since: at,
                        ..m
                    },
                );
            }
            (MemberOp::Remove { .. }, Some(_)) => {
                next.members.remove(&id);
                if let Some(k) = next.node_mut(id)?.key_in_force_mut() {
                    k.valid_until = Some(at);
                }
            }
            (MemberOp::SetAddress { addr, .. }, Some(m)) => {
                check_addr(addr)?;
                next.members.insert(
                    id,
                    Member {
                        addr: Some(addr.clone()),
                        since: at,
                        ..m
                    },
                );
            }
            (MemberOp::Promote { .. }, Some(_)) => {
                return refuse(format!("node {id} is a voter already"))
            }
            (MemberOp::Demote { .. }, Some(_)) => {
                return refuse(format!("node {id} is a learner already"))
            }
            (_, None) => return refuse(format!("node {id} is not a member")),
        }
        if !next.members.values().any(|m| m.voter) {
            return refuse("the change would leave the cluster without a voter".into());
        }
        Ok(next)
    }

    fn require_self(&self, signer_org: &OrgId, org: &OrgId) -> Result<(), RegistryError> {
        if signer_org == org {
            Ok(())
        } else {
            Err(RegistryError::WrongSigner(format!(
                "only {org} may change its own keys"
            )))
        }
    }

    fn node_mut(&mut self, id: NodeId) -> Result<&mut NodeRecord, RegistryError> {
        self.nodes
            .get_mut(&id)
            .ok_or_else(|| RegistryError::Missing(format!("node {id}")))
    }

    fn org_mut(&mut self, id: &OrgId) -> Result<&mut Organisation, RegistryError> {
        self.organisations
            .get_mut(id)
            .ok_or_else(|| RegistryError::Missing(format!("organisation {id}")))
    }

    fn register_organisation(&mut self, d: &OrganisationDecl) -> Result<(), RegistryError> {
        if self.organisations.contains_key(&d.id) {
            return Err(RegistryError::Duplicate(format!("organisation {}", d.id)));
        }
        if d.keys.is_empty() {
            return Err(RegistryError::Invalid(format!(
                "organisation {} declares no key",
                d.id
            )));
        }
        for k in &d.keys {
            check_key(&k.public_key, &format!("key {}/{}", d.id, k.key_id))?;
        }
        let ids: BTreeSet<_> = d.keys.iter().map(|k| &k.key_id).collect();
        if ids.len() != d.keys.len() {
            return Err(RegistryError::Duplicate(format!(
                "key id in organisation {}",
                d.id
            )));
        }
        if let Some(p) = &d.parent {
            if !self.organisations.contains_key(p) {
                return Err(RegistryError::Missing(format!("parent organisation {p}")));
            }
        }
        self.organisations
            .insert(d.id.clone(), Organisation::from_decl(d));
        Ok(())
    }

    fn register_node(&mut self, n: &NodeDecl, at: Timestamp) -> Result<(), RegistryError> {
        check_key(&n.signing_key, &format!("node {} signing key", n.node_id))?;
        if let Some(t) = &n.tls_key {
            check_key(t, &format!("node {} TLS key", n.node_id))?;
        }
        if self.nodes.contains_key(&n.node_id) {
            return Err(RegistryError::Duplicate(format!("node {}", n.node_id)));
        }
        if !self.organisations.contains_key(&n.org) {
            return Err(RegistryError::Missing(format!(
                "organisation {} of node {}",
                n.org, n.node_id
            )));
        }
        self.nodes.insert(
            n.node_id,
            NodeRecord {
                node_id: n.node_id,
                org: n.org.clone(),
                keys: vec![NodeKeyRecord::new(n.signing_key, n.tls_key, at)],
            },
        );
        Ok(())
    }
}

/// The longest address a membership change may carry (a DNS name and a port).
pub const MAX_ADDR_LEN: usize = 261;

/// Refuses an address that is not `host:port` (a port number, no space or control character).
fn check_addr(addr: &NodeAddr) -> Result<(), RegistryError> {
    for a in [&addr.raft_addr, &addr.api_addr] {
        let port_ok = a.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if a.len() > MAX_ADDR_LEN
            || !port_ok
            || a.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(RegistryError::Membership(format!(
                "{a:?} is not a host:port address"
            )));
        }
    }
    Ok(())
}

/// Refuses keys that are not curve points or are of small order: `verify_strict` would refuse
/// their signatures anyway, and other libraries might not (docs/FORMAT.md §Crypto).
fn check_key(key: &PublicKey, what: &str) -> Result<(), RegistryError> {
    match key.to_verifying_key() {
        Ok(vk) if !vk.is_weak() => Ok(()),
        _ => Err(RegistryError::WeakKey(what.to_owned())),
    }
}
