//! A province to run: organisations of every kind with their keys, node identities, and the
//! genesis that pins them with the pilot's policy. Keys are derived from a seed so that demos,
//! tests and bug reports are reproducible; production deployments generate keys with
//! `caseledger keygen` and write their own genesis file.

use caseledger_client::http::Credentials;
use caseledger_client::keys;
use ed25519_dalek::SigningKey;
use proto_types::crypto::PublicKey;
use proto_types::domain::{Level, OrgKind};
use proto_types::ids::{KeyId, NodeId, OrgId};
use proto_types::payload::{Genesis, KeyDecl, KeyRef, NodeDecl, OrganisationDecl, Signer};
use proto_types::policy::{Calendar, Policy};
use proto_types::time::Date;
use proto_types::{Action, Payload, Submission, Timestamp};
use std::collections::BTreeMap;

/// The key id every derived organisation key gets.
pub const KEY_ID: &str = "k1";

/// One department with its signing key.
#[derive(Clone)]
pub struct Department {
    /// Its registry declaration.
    pub decl: OrganisationDecl,
    /// Its signing key.
    pub key: SigningKey,
}

impl Department {
    /// The key reference to sign with.
    pub fn key_ref(&self) -> KeyRef {
        KeyRef {
            org: self.decl.id.clone(),
            key_id: KeyId::new(KEY_ID).expect("constant key id is valid"),
        }
    }

    /// The id.
    pub fn id(&self) -> &OrgId {
        &self.decl.id
    }

    /// The signer of its payloads.
    pub fn signer(&self) -> Signer {
        Signer::Org(self.key_ref())
    }

    /// Its API request credentials (its key `k1`).
    pub fn credentials(&self) -> Credentials {
        let r = self.key_ref();
        Credentials::organisation(&r.org, &r.key_id, self.key.clone())
    }
}

/// One node identity with its signing key.
#[derive(Clone)]
pub struct NodeIdentity {
    /// The registry declaration.
    pub decl: NodeDecl,
    /// Its checkpoint signing key.
    pub key: SigningKey,
}

impl NodeIdentity {
    /// Its operator's API request credentials (admin routes, reads of everything).
    pub fn credentials(&self) -> Credentials {
        Credentials::node(self.decl.node_id, self.key.clone())
    }
}

/// Departments of one city.
#[derive(Clone)]
pub struct City {
    /// Name, e.g. "Lanzhou".
    pub name: String,
    /// Code used in ids, e.g. "LZ".
    pub code: String,
    /// 公安.
    pub psb: OrgId,
    /// 检察院.
    pub procuratorate: OrgId,
    /// 基层法院.
    pub court: OrgId,
    /// 中级法院 (appeals).
    pub upper_court: OrgId,
    /// 看守所.
    pub detention_house: OrgId,
    /// 社区矫正.
    pub community_corrections: OrgId,
    /// 法律援助.
    pub legal_aid: OrgId,
}

/// A province: the PLC, a prison, and each city's departments.
#[derive(Clone)]
pub struct Province {
    /// Every department by id.
    pub departments: BTreeMap<OrgId, Department>,
    /// The cities.
    pub cities: Vec<City>,
    /// 政法委 (supervisor, approver, genesis signer).
    pub plc: OrgId,
    /// 监狱.
    pub prison: OrgId,
    /// The auditor: reads everything through the API, sends nothing.
    pub auditor: OrgId,
    /// Node identities, node id 1.. in order.
    pub nodes: Vec<NodeIdentity>,
    /// The seed everything was derived from.
    pub seed: u64,
}

/// The pilot's cities (docs/DOMAIN.md): English name, Chinese name, code used in ids.
pub const PILOT_CITIES: [(&str, &str, &str); 5] = [
    ("Lanzhou", "兰州", "LZ"),
    ("Jiuquan", "酒泉", "JQ"),
    ("Zhangye", "张掖", "ZY"),
    ("Jinchang", "金昌", "JC"),
    ("Tianshui", "天水", "TS"),
];

fn org_id(s: String) -> OrgId {
    OrgId::new(s).expect("derived organisation ids are valid")
}

impl Province {
    /// A province with `cities` (from [`PILOT_CITIES`]) and `nodes` node identities; every
    /// key derived from `seed`. Keys are valid from `valid_from`.
    pub fn new(seed: u64, cities: usize, nodes: u64, valid_from: Timestamp) -> Self {
        let mut departments = BTreeMap::new();
        let mut add = |id: OrgId,
                       name: String,
                       kind: OrgKind,
                       level: Level,
                       parent: Option<OrgId>,
                       city: &str| {
            let key = keys::derive(seed, id.as_str());
            let decl = OrganisationDecl {
                id: id.clone(),
                name,
                kind,
                level,
                parent,
                city: city.to_owned(),
                keys: vec![KeyDecl {
                    key_id: KeyId::new(KEY_ID).expect("constant key id is valid"),
                    public_key: PublicKey::of(&key),
                    valid_from,
                    valid_until: None,
                }],
            };
            departments.insert(id, Department { decl, key });
        };
        let plc = org_id("GS-PLC".into());
        add(
            plc.clone(),
            "甘肃省委政法委".into(),
            OrgKind::Plc,
            Level::Province,
            None,
            "Lanzhou",
        );
        let auditor = org_id("GS-AUDIT".into());
        add(
            auditor.clone(),
            "甘肃省政法案件流转审计组".into(),
            OrgKind::Auditor,
            Level::Province,
            None,
            "Lanzhou",
        );
        let prison = org_id("GS-PRISON-1".into());
        add(
            prison.clone(),
            "甘肃省第一监狱".into(),
            OrgKind::Prison,
            Level::Province,
            None,
            "Lanzhou",
        );
        let mut city_list = Vec::new();
        for (name, zh, code) in PILOT_CITIES.iter().take(cities.max(1)) {
            let id = |suffix: &str| org_id(format!("{code}-{suffix}"));
            let city = City {
                name: (*name).to_owned(),
                code: (*code).to_owned(),
                psb: id("PSB"),
                procuratorate: id("PROC"),
                court: id("COURT"),
                upper_court: id("INT-COURT"),
                detention_house: id("DH"),
                community_corrections: id("CC"),
                legal_aid: id("LA"),
            };
            add(
                city.upper_court.clone(),
                format!("{zh}市中级人民法院"),
                OrgKind::Court,
                Level::Prefecture,
                None,
                name,
            );
            add(
                city.psb.clone(),
                format!("{zh}市公安局"),
                OrgKind::Psb,
                Level::County,
                None,
                name,
            );
            add(
                city.procuratorate.clone(),
                format!("{zh}市人民检察院"),
                OrgKind::Procuratorate,
                Level::County,
                None,
                name,
            );
            add(
                city.court.clone(),
                format!("{zh}市城关区人民法院"),
                OrgKind::Court,
                Level::County,
                Some(city.upper_court.clone()),
                name,
            );
            add(
                city.detention_house.clone(),
                format!("{zh}市看守所"),
                OrgKind::DetentionHouse,
                Level::County,
                None,
                name,
            );
            add(
                city.community_corrections.clone(),
                format!("{zh}市社区矫正管理局"),
                OrgKind::CommunityCorrections,
                Level::County,
                None,
                name,
            );
            add(
                city.legal_aid.clone(),
                format!("{zh}市法律援助中心"),
                OrgKind::LegalAid,
                Level::County,
                None,
                name,
            );
            city_list.push(city);
        }
        let first = &city_list[0];
        // Node n runs at the department of the n-th kind of the first city (PSB, procuratorate,
        // court, detention house, community corrections, ...).
        let hosts = [
            first.psb.clone(),
            first.procuratorate.clone(),
            first.court.clone(),
            first.detention_house.clone(),
            first.community_corrections.clone(),
            plc.clone(),
            prison.clone(),
        ];
        let nodes = (1..=nodes)
            .map(|n| {
                let key = keys::derive(seed, &format!("node-{n}"));
                let org = hosts[(n as usize - 1) % hosts.len()].clone();
                NodeIdentity {
                    decl: NodeDecl {
                        node_id: n,
                        org,
                        signing_key: PublicKey::of(&key),
                        tls_key: None,
                    },
                    key,
                }
            })
            .collect();
        Self {
            departments,
            cities: city_list,
            plc,
            prison,
            auditor,
            nodes,
            seed,
        }
    }

    /// A department by id.
    pub fn department(&self, id: &OrgId) -> &Department {
        self.departments
            .get(id)
            .expect("the province declares every id it hands out")
    }

    /// The pilot policy with the PLC and the first city's procuratorate and court as
    /// approvers, two of three required.
    pub fn policy(&self) -> Policy {
        let c = &self.cities[0];
        Policy::pilot(
            vec![self.plc.clone(), c.procuratorate.clone(), c.court.clone()],
            2,
            sample_calendar(),
        )
    }

    /// The genesis submission, signed by the PLC.
    pub fn genesis(&self, at: Timestamp) -> Submission {
        // Parents first: registration order matters.
        let mut orgs: Vec<OrganisationDecl> =
            self.departments.values().map(|d| d.decl.clone()).collect();
        orgs.sort_by_key(|o| (o.parent.is_some(), o.id.clone()));
        let genesis = Genesis {
            cluster_name: format!("gansu-{}", self.seed),
            organisations: orgs,
            nodes: self.nodes.iter().map(|n| n.decl.clone()).collect(),
            policy: self.policy(),
        };
        let plc = self.department(&self.plc);
        Payload {
            signer: plc.signer(),
            id: "genesis".parse().expect("valid id"),
            claimed_at: at,
            action: Action::Genesis(genesis),
        }
        .sign(&plc.key)
    }

    /// The auditor's API credentials (reads everything: audit, export).
    pub fn auditor_credentials(&self) -> Credentials {
        self.department(&self.auditor).credentials()
    }

    /// A node's identity.
    pub fn node(&self, id: NodeId) -> Option<&NodeIdentity> {
        self.nodes.iter().find(|n| n.decl.node_id == id)
    }
}

/// Public holidays of 2026 and 2027 (State Council notices) and the working weekends around
/// them: a sample calendar for the pilot. Real deployments carry the official one as policy.
pub fn sample_calendar() -> Calendar {
    let d = |s: &str| Date::parse(s).expect("valid constant date");
    let range = |from: &str, days: i32| {
        let start = d(from);
        (0..days).map(move |i| start.plus_days(i))
    };
    let holidays = [
        ("2026-01-01", 3),
        ("2026-02-15", 9),
        ("2026-04-04", 3),
        ("2026-05-01", 5),
        ("2026-06-19", 3),
        ("2026-09-25", 3),
        ("2026-10-01", 7),
        ("2027-01-01", 3),
        ("2027-02-05", 8),
        ("2027-04-03", 3),
        ("2027-05-01", 5),
        ("2027-06-09", 3),
        ("2027-09-15", 3),
        ("2027-10-01", 7),
    ]
    .into_iter()
    .flat_map(|(f, n)| range(f, n))
    .collect();
    let working_weekends = [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ]
    .into_iter()
    .map(d)
    .collect();
    Calendar {
        holidays,
        working_weekends,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use caseledger_client::trust::{node_keys_from_genesis, verify_receipt_text, TrustError};
    use proto_types::Timestamp;

    // The client library's `trust` read against the pilot's genesis: here, as the library
    // cannot depend on the lab.
    #[test]
    fn reads_the_node_keys_a_genesis_pins_and_nothing_else() {
        let p = Province::new(5, 1, 3, Timestamp::from_millis(0));
        let json = serde_json::to_string(&p.genesis(Timestamp::from_millis(0))).expect("json");
        let keys = node_keys_from_genesis(&json).expect("a genesis");
        let names: Vec<&str> = keys.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["node-1", "node-2", "node-3"]);
        assert_eq!(keys[1].1, p.nodes[1].key.verifying_key());
        assert!(matches!(
            node_keys_from_genesis("{}"),
            Err(TrustError::NotASubmission(_))
        ));
        let (_, steps) = crate::flows::case_flow(&p, 5, 0, Timestamp::from_millis(0));
        let filing = serde_json::to_string(&steps[0].submission).expect("json");
        assert!(matches!(
            node_keys_from_genesis(&filing),
            Err(TrustError::NotGenesis("case_filing"))
        ));
        assert!(verify_receipt_text("not a receipt", &keys).is_err());
    }
}
