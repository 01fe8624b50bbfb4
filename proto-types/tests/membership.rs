//! Membership changes and node keys decided in `apply` (docs/FORMAT.md §Membership): k-of-n
//! approvals in their own context, never the interested party alone, changes that fit the
//! membership, removal retiring the node's key, rotation and revocation with windows.

use ed25519_dalek::SigningKey;
use proto_types::apply::{apply, Outcome, SignatureCheck};
use proto_types::crypto::PublicKey;
use proto_types::domain::{Level, OrgKind};
use proto_types::ids::{KeyId, NodeId};
use proto_types::payload::{
    Approval, Genesis, KeyDecl, KeyLifecycle, KeyOp, KeyRef, MemberOp, MembershipChange, NodeAddr,
    NodeDecl, OrganisationDecl, Signer,
};
use proto_types::policy::{Calendar, Policy};
use proto_types::registry::{KeyError, Registry};
use proto_types::state::{LedgerState, MemState};
use proto_types::{Action, Payload, Proposal, Rule, Timestamp};

const PSB: &str = "LZ-PSB";
const PROC: &str = "LZ-PROC";
const COURT: &str = "LZ-COURT";
const PLC: &str = "GS-PLC";
const ORGS: [(&str, OrgKind, u8); 4] = [
    (PSB, OrgKind::Psb, 1),
    (PROC, OrgKind::Procuratorate, 2),
    (COURT, OrgKind::Court, 3),
    (PLC, OrgKind::Plc, 4),
];
/// Nodes: (id, organisation, key seed).
const NODES: [(NodeId, &str, u8); 4] = [(1, PSB, 11), (2, PROC, 12), (3, COURT, 13), (4, PSB, 14)];

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("valid id")
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn seed_of(org: &str) -> u8 {
    ORGS.iter().find(|o| o.0 == org).expect("fixture").2
}

fn key_ref(org: &str) -> KeyRef {
    KeyRef {
        org: id(org),
        key_id: id::<KeyId>("k1"),
    }
}

fn addr(n: u16) -> NodeAddr {
    NodeAddr {
        raft_addr: format!("10.0.0.{n}:7000"),
        api_addr: format!("10.0.0.{n}:8080"),
    }
}

struct Fixture {
    state: MemState,
    now: Timestamp,
    seq: u32,
}

impl Fixture {
    /// Genesis with nodes 1-4 (node 1 the founder); approvers PLC, PROC and COURT, `required`
    /// of them.
    fn new(required: u32) -> Self {
        let organisations = ORGS
            .iter()
            .map(|&(org, kind, seed)| OrganisationDecl {
                id: id(org),
                name: org.into(),
                kind,
                level: Level::Prefecture,
                parent: None,
                city: "Lanzhou".into(),
                keys: vec![KeyDecl {
                    key_id: id("k1"),
                    public_key: PublicKey::of(&key(seed)),
                    valid_from: Timestamp::from_millis(0),
                    valid_until: None,
                }],
            })
            .collect();
        let nodes = NODES
            .iter()
            .map(|&(node_id, org, seed)| NodeDecl {
                node_id,
                org: id(org),
                signing_key: PublicKey::of(&key(seed)),
                tls_key: None,
            })
            .collect();
        let genesis = Genesis {
            cluster_name: "membership".into(),
            organisations,
            nodes,
            policy: Policy::pilot(
                vec![id(PLC), id(PROC), id(COURT)],
                required,
                Calendar {
                    holidays: vec![],
                    working_weekends: vec![],
                },
            ),
        };
        let mut f = Fixture {
            state: MemState::new(),
            now: Timestamp::from_millis(1_780_000_000_000),
            seq: 0,
        };
        assert_eq!(f.submit(PLC, Action::Genesis(genesis)), Ok(None));
        f
    }

    fn registry(&self) -> Registry {
        self.state.registry().expect("genesis applied").clone()
    }

    /// Applies a payload signed by `signer` one second after the last; `Ok(None)` accepted,
    /// `Ok(Some((rule, detail)))` recorded as a rejection, `Err` refused.
    fn submit_as(
        &mut self,
        signer: Signer,
        signing_key: &SigningKey,
        action: Action,
    ) -> Result<Option<(Rule, String)>, Outcome> {
        self.now = self.now.plus_millis(1000);
        self.seq += 1;
        let payload = Payload {
            signer,
            id: id(&format!("M-{}", self.seq)),
            claimed_at: self.now,
            action,
        };
        let proposal = Proposal {
            submission: payload.sign(signing_key),
            stamped_at: self.now,
        };
        match apply(&self.state, &proposal, SignatureCheck::Verify).expect("in-memory state") {
            Outcome::Appended(a) => {
                self.state.commit(&a);
                Ok(match &a.entry.body.record {
                    proto_types::entry::Record::Rejected(r) => Some((r.rule, r.detail.clone())),
                    proto_types::entry::Record::Accepted(_) => None,
                })
            }
            other => Err(other),
        }
    }

    fn submit(&mut self, org: &str, action: Action) -> Result<Option<(Rule, String)>, Outcome> {
        self.submit_as(Signer::Org(key_ref(org)), &key(seed_of(org)), action)
    }

    /// A membership change proposed by `org`, approved by `approvers` (membership context).
    fn change(
        &mut self,
        org: &str,
        op: MemberOp,
        approvers: &[&str],
    ) -> Result<Option<(Rule, String)>, Outcome> {
        let approvals = approvers
            .iter()
            .map(|a| Approval::sign_membership(key_ref(a), &key(seed_of(a)), &op))
            .collect();
        self.submit(org, Action::Membership(MembershipChange { op, approvals }))
    }

    /// A registry change proposed by `org`, approved by `approvers` (registry context).
    fn key_op(
        &mut self,
        org: &str,
        op: KeyOp,
        approvers: &[&str],
    ) -> Result<Option<(Rule, String)>, Outcome> {
        let approvals = approvers
            .iter()
            .map(|a| Approval::sign(key_ref(a), &key(seed_of(a)), &op))
            .collect();
        self.submit(org, Action::KeyLifecycle(KeyLifecycle { op, approvals }))
    }

    fn role(&self, node: NodeId) -> Option<bool> {
        self.registry().members.get(&node).map(|m| m.voter)
    }
}

/// Asserts a rejection by `rule` whose detail contains `detail`.
fn refused(result: Result<Option<(Rule, String)>, Outcome>, rule: Rule, detail: &str) {
    match result {
        Ok(Some((r, d))) => {
            assert_eq!(r, rule, "{d}");
            assert!(d.contains(detail), "detail {d:?} lacks {detail:?}");
        }
        other => panic!("expected a {rule:?} rejection, got {other:?}"),
    }
}

#[test]
fn after_genesis_the_founder_alone_is_an_approved_voter() {
    let f = Fixture::new(2);
    let r = f.registry();
    assert_eq!(r.members.keys().copied().collect::<Vec<_>>(), vec![1]);
    assert_eq!(f.role(1), Some(true));
    assert_eq!(r.members[&1].addr, None);
}

#[test]
fn a_node_joins_and_is_promoted_with_k_of_n_approvals() {
    let mut f = Fixture::new(2);
    let join = MemberOp::AddLearner {
        node_id: 2,
        addr: addr(2),
    };
    assert_eq!(f.change(PROC, join, &[PLC, COURT]), Ok(None));
    assert_eq!(f.role(2), Some(false));
    assert_eq!(f.registry().members[&2].addr, Some(addr(2)));
    assert_eq!(
        f.change(PLC, MemberOp::Promote { node_id: 2 }, &[PLC, PROC]),
        Ok(None)
    );
    assert_eq!(f.role(2), Some(true));
}

#[test]
fn each_broken_membership_rule_is_a_rejection_naming_it() {
    let mut f = Fixture::new(2);
    let join = |n| MemberOp::AddLearner {
        node_id: n,
        addr: addr(n as u16),
    };
    // One approval where two are required.
    refused(
        f.change(COURT, join(3), &[COURT]),
        Rule::MembershipChangeRefused,
        "1 valid approvals from distinct approvers, 2 required",
    );
    // The same organisation approving twice counts once.
    refused(
        f.change(COURT, join(3), &[COURT, COURT]),
        Rule::MembershipChangeRefused,
        "1 valid approvals",
    );
    // Approvals signed in the registry context do not count for a membership change.
    let op = join(3);
    let approvals = [PLC, PROC]
        .iter()
        .map(|a| Approval::sign(key_ref(a), &key(seed_of(a)), &op))
        .collect();
    refused(
        f.submit(
            COURT,
            Action::Membership(MembershipChange { op, approvals }),
        ),
        Rule::MembershipChangeRefused,
        "0 valid approvals",
    );
    // Neither the node's organisation nor an approver proposes.
    refused(
        f.change(PSB, join(3), &[PLC, PROC]),
        Rule::MembershipChangeRefused,
        "proposed by LZ-COURT or an approver",
    );
    // Changes that do not fit the membership.
    refused(
        f.change(PLC, MemberOp::Promote { node_id: 3 }, &[PLC, PROC]),
        Rule::MembershipChangeRefused,
        "node 3 is not a member",
    );
    refused(
        f.change(PLC, MemberOp::Promote { node_id: 1 }, &[PLC, PROC]),
        Rule::MembershipChangeRefused,
        "voter already",
    );
    refused(
        f.change(PLC, MemberOp::Demote { node_id: 1 }, &[PLC, PROC]),
        Rule::MembershipChangeRefused,
        "without a voter",
    );
    refused(
        f.change(PLC, MemberOp::Remove { node_id: 1 }, &[PLC, PROC]),
        Rule::MembershipChangeRefused,
        "without a voter",
    );
    refused(
        f.change(PLC, MemberOp::Remove { node_id: 9 }, &[PLC, PROC]),
        Rule::MembershipChangeRefused,
        "node 9 does not exist",
    );
    let bad = MemberOp::AddLearner {
        node_id: 3,
        addr: NodeAddr {
            raft_addr: "no port".into(),
            api_addr: "h:1".into(),
        },
    };
    refused(
        f.change(COURT, bad, &[PLC, PROC]),
        Rule::MembershipChangeRefused,
        "not a host:port address",
    );
    assert_eq!(f.change(COURT, join(3), &[PLC, PROC]), Ok(None));
    refused(
        f.change(COURT, join(3), &[PLC, PROC]),
        Rule::MembershipChangeRefused,
        "already a member",
    );
    // Nodes sign no membership change.
    let op = MemberOp::Promote { node_id: 3 };
    let approvals = vec![Approval::sign_membership(
        key_ref(PLC),
        &key(seed_of(PLC)),
        &op,
    )];
    refused(
        f.submit_as(
            Signer::Node(1),
            &key(11),
            Action::Membership(MembershipChange { op, approvals }),
        ),
        Rule::SignerMismatch,
        "signed by organisations",
    );
    assert_eq!(f.role(3), Some(false), "no rejected change moved node 3");
}

#[test]
fn no_department_decides_its_own_nodes_membership_alone() {
    // k = 1: the court alone approves its own node's promotion: refused; the PLC's approval
    // (an approver other than the interested party) is enough.
    let mut f = Fixture::new(1);
    assert_eq!(
        f.change(
            COURT,
            MemberOp::AddLearner {
                node_id: 3,
                addr: addr(3)
            },
            &[PLC]
        ),
        Ok(None)
    );
    refused(
        f.change(COURT, MemberOp::Promote { node_id: 3 }, &[COURT]),
        Rule::MembershipChangeRefused,
        "approvals only from LZ-COURT",
    );
    assert_eq!(f.role(3), Some(false));
    assert_eq!(
        f.change(COURT, MemberOp::Promote { node_id: 3 }, &[COURT, PLC]),
        Ok(None)
    );
    assert_eq!(f.role(3), Some(true));
}

#[test]
fn a_removed_node_rejoins_only_with_a_new_key() {
    let mut f = Fixture::new(2);
    assert_eq!(
        f.change(
            PROC,
            MemberOp::AddLearner {
                node_id: 2,
                addr: addr(2)
            },
            &[PLC, COURT]
        ),
        Ok(None)
    );
    assert_eq!(
        f.change(PLC, MemberOp::Remove { node_id: 2 }, &[PLC, COURT]),
        Ok(None)
    );
    let removed_at = f.now;
    assert_eq!(f.role(2), None);
    let r = f.registry();
    assert!(
        r.nodes[&2].key_in_force().is_none(),
        "removal retires the key"
    );
    assert_eq!(
        r.key_for(&Signer::Node(2), removed_at),
        Err(KeyError::Expired)
    );
    // The old key cannot rejoin.
    refused(
        f.change(
            PROC,
            MemberOp::AddLearner {
                node_id: 2,
                addr: addr(2),
            },
            &[PLC, COURT],
        ),
        Rule::MembershipChangeRefused,
        "no key in force",
    );
    // Nor can the organisation rotate back to it.
    let back = KeyOp::RotateNodeKey {
        node_id: 2,
        signing_key: PublicKey::of(&key(12)),
        tls_key: None,
    };
    refused(
        f.key_op(PROC, back, &[PLC, COURT]),
        Rule::RegistryChangeRefused,
        "a key node 2 had before",
    );
    // A new key, then an approved join.
    let fresh = KeyOp::RotateNodeKey {
        node_id: 2,
        signing_key: PublicKey::of(&key(22)),
        tls_key: None,
    };
    refused(
        f.key_op(PSB, fresh.clone(), &[PLC, COURT]),
        Rule::RegistryChangeRefused,
        "only LZ-PROC may change its own keys",
    );
    assert_eq!(f.key_op(PROC, fresh, &[PLC, COURT]), Ok(None));
    assert_eq!(
        f.change(
            PROC,
            MemberOp::AddLearner {
                node_id: 2,
                addr: addr(2)
            },
            &[PLC, COURT]
        ),
        Ok(None)
    );
    let r = f.registry();
    assert_eq!(
        r.nodes[&2].key_in_force().map(|k| k.signing_key),
        Some(PublicKey::of(&key(22)))
    );
    // What node 2 signed with its first key before the removal still resolves at that time.
    assert_eq!(
        r.key_for(
            &Signer::Node(2),
            Timestamp::from_millis(removed_at.as_millis() - 1)
        ),
        Ok(PublicKey::of(&key(12)))
    );
    assert_eq!(
        r.key_for(&Signer::Node(2), f.now),
        Ok(PublicKey::of(&key(22)))
    );
}

#[test]
fn a_rotated_node_key_is_valid_from_the_rotation_on_and_the_old_one_until_then() {
    let mut f = Fixture::new(2);
    let rotate = KeyOp::RotateNodeKey {
        node_id: 3,
        signing_key: PublicKey::of(&key(33)),
        tls_key: Some(PublicKey::of(&key(34))),
    };
    assert_eq!(f.key_op(COURT, rotate, &[PLC, PROC]), Ok(None));
    let at = f.now;
    let r = f.registry();
    let before = Timestamp::from_millis(at.as_millis() - 1);
    assert_eq!(
        r.key_for(&Signer::Node(3), before),
        Ok(PublicKey::of(&key(13)))
    );
    assert_eq!(
        r.key_for(&Signer::Node(3), at),
        Ok(PublicKey::of(&key(33))),
        "at the rotation's own time the new key is valid"
    );
    assert_eq!(
        r.nodes[&3].key_in_force().map(|k| k.pinned_tls_key()),
        Some(PublicKey::of(&key(34)))
    );
    // A checkpoint signature by the old key after the rotation is not a valid submission.
    let late = f.submit_as(
        Signer::Node(3),
        &key(13),
        Action::Membership(MembershipChange {
            op: MemberOp::Promote { node_id: 3 },
            approvals: vec![],
        }),
    );
    assert!(matches!(late, Err(Outcome::Refused(_))), "{late:?}");
}

#[test]
fn a_revoked_node_leaves_the_membership_and_the_cosigners() {
    let mut f = Fixture::new(2);
    assert_eq!(
        f.change(
            COURT,
            MemberOp::AddLearner {
                node_id: 3,
                addr: addr(3)
            },
            &[PLC, PROC]
        ),
        Ok(None)
    );
    assert_eq!(f.registry().cosigners_at(f.now).len(), 4);
    let revoke = KeyOp::RevokeNodeKey {
        node_id: 3,
        reason: "节点密钥泄露".into(),
    };
    refused(
        f.key_op(PSB, revoke.clone(), &[PLC, PROC]),
        Rule::RegistryChangeRefused,
        "by its organisation or an approver",
    );
    assert_eq!(f.key_op(PLC, revoke.clone(), &[PLC, PROC]), Ok(None));
    let r = f.registry();
    assert_eq!(
        f.role(3),
        None,
        "revocation drops the node from the approved membership"
    );
    assert!(r.cosigners_at(f.now).iter().all(|(n, _)| *n != 3));
    assert_eq!(r.key_for(&Signer::Node(3), f.now), Err(KeyError::Revoked));
    refused(
        f.key_op(PLC, revoke, &[PLC, PROC]),
        Rule::RegistryChangeRefused,
        "revocation of node 3",
    );
    refused(
        f.change(
            COURT,
            MemberOp::AddLearner {
                node_id: 3,
                addr: addr(3),
            },
            &[PLC, PROC],
        ),
        Rule::MembershipChangeRefused,
        "no key in force",
    );
}

#[test]
fn a_node_id_is_never_registered_twice() {
    let mut f = Fixture::new(2);
    let again = KeyOp::RegisterNode(NodeDecl {
        node_id: 2,
        org: id(PROC),
        signing_key: PublicKey::of(&key(40)),
        tls_key: None,
    });
    refused(
        f.key_op(PROC, again, &[PLC, COURT]),
        Rule::RegistryChangeRefused,
        "node 2 already exists",
    );
}
