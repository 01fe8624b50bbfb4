//! The case-flow generator: realistic, valid lives of cases of the pilot's types, signed by the
//! departments that take each step. Everything depends only on the seed: ids, persons, digests,
//! branch choices and claimed times (from a simulated schedule, never the wall clock), so two
//! runs with the same seed produce the same signed payloads in the same order.
//!
//! A flow is a list of steps for one case; steps of one case must be applied in order (each
//! depends on the earlier ones), while different cases are independent and may interleave.
//!
//! Every step the law requires is sent, except the lapses the workload makes on purpose so that
//! supervision has something to find, each a seeded share of the cases: late answers, cases
//! that stall, and custody transfers (换押) left unsent ([`MISSING_CUSTODY_PERCENT`]).

use crate::pilot::{City, Province};
use proto_types::crypto::Digest;
use proto_types::domain::{CaseType, DocumentType, HandoffKind, MeasureKind, Procedure};
use proto_types::ids::{CaseId, HandoffId, OrgId, PersonId};
use proto_types::payload::{
    Acceptance, CaseFiling, CoerciveMeasure, Document, Handoff, Receipt, ReturnForCompletion,
};
use proto_types::time::DAY_MS;
use proto_types::{Action, Payload, Submission, Timestamp};

/// One step of a flow: what the department signs, and the stage the case should be in after.
#[derive(Clone, Debug)]
pub struct Step {
    /// The signed submission.
    pub submission: Submission,
}

/// Branch choices of one case.
#[derive(Clone, Debug)]
pub struct Shape {
    /// The case type.
    pub case_type: CaseType,
    /// Whether the person is detained (custody transfers follow every move).
    pub custody: bool,
    /// Returns for supplementary investigation (0..=2).
    pub supplementary_returns: u32,
    /// Whether the first prosecution transfer is returned for completion.
    pub returned_for_completion: bool,
    /// Whether the judgment is appealed.
    pub appeal: bool,
    /// Whether the sentence is served in the community.
    pub community: bool,
    /// Whether the procuratorate answers the prosecution transfer after its due time.
    pub late: bool,
    /// Whether the flow stops after the prosecution transfer is accepted (left open: it comes
    /// due and shows as overdue).
    pub stalls: bool,
    /// Whether the PSB transfers the detained person's case for prosecution without declaring
    /// the custody or sending the custody transfer that must go with it (a deliberate lapse:
    /// a missing custody transfer).
    pub skips_custody_transfer: bool,
}

/// The share of custody cases, in percent, whose prosecution transfer goes without its custody
/// transfer when no other share is asked for (`caseledger demo --missing-custody-percent`).
pub const MISSING_CUSTODY_PERCENT: u64 = 3;

/// Salts the seed of the stream that decides which custody cases skip their custody transfer.
const LAPSE_STREAM: u64 = 0x6c61_7073_6563_7573;

/// The national mix of the pilot's types (docs/DOMAIN.md): dangerous driving the largest share.
const MIX: [(CaseType, u32); 6] = [
    (CaseType::DangerousDriving, 40),
    (CaseType::Theft, 22),
    (CaseType::IntentionalInjury, 12),
    (CaseType::TrafficAccident, 10),
    (CaseType::PickingQuarrels, 8),
    (CaseType::Fraud, 8),
];

/// A small deterministic generator (SplitMix64): the workload must not depend on a crate's
/// choice of algorithm across versions.
#[derive(Clone, Debug)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator for a seed and a stream.
    pub fn new(seed: u64, stream: u64) -> Self {
        Self(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `pct` percent.
    pub fn percent(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

impl Shape {
    /// The branches of case number `n` under `seed`, with the default share of missing custody
    /// transfers.
    pub fn pick(seed: u64, n: u64) -> Self {
        Self::pick_with(seed, n, MISSING_CUSTODY_PERCENT)
    }

    /// The branches of case number `n` under `seed`; a custody case skips its custody transfer
    /// with probability `missing_custody_percent` percent. The other branches do not depend on
    /// that share (it is drawn from a stream of its own).
    pub fn pick_with(seed: u64, n: u64, missing_custody_percent: u64) -> Self {
        let mut r = SplitMix::new(seed, n);
        let total: u32 = MIX.iter().map(|(_, w)| w).sum();
        let mut x = r.below(u64::from(total)) as u32;
        let mut case_type = CaseType::DangerousDriving;
        for (t, w) in MIX.iter() {
            if x < *w {
                case_type = t.clone();
                break;
            }
            x -= w;
        }
        let dd = case_type == CaseType::DangerousDriving;
        let custody = !dd && r.percent(70);
        let supplementary_returns = if dd {
            0
        } else {
            match r.below(100) {
                0..=19 => 1,
                20..=24 => 2,
                _ => 0,
            }
        };
        let returned_for_completion = r.percent(8);
        let appeal = !dd && r.percent(10);
        let community = dd || !custody || r.percent(15);
        let late = r.percent(10);
        let stalls = r.percent(4);
        // A stream of its own: the share decides nothing else, and the draws of neighbouring
        // cases' branch streams (which overlap, shifted) do not decide it.
        let skips_custody_transfer =
            custody && SplitMix::new(seed ^ LAPSE_STREAM, n).percent(missing_custody_percent);
        Self {
            custody,
            supplementary_returns,
            returned_for_completion,
            appeal,
            community,
            late,
            stalls,
            skips_custody_transfer,
            case_type,
        }
    }
}

/// Builds one case's flow.
struct Builder<'a> {
    province: &'a Province,
    city: &'a City,
    case_id: CaseId,
    shape: Shape,
    procedure: Procedure,
    person: PersonId,
    clock: Timestamp,
    rng: SplitMix,
    seq: u32,
    steps: Vec<Step>,
}

impl Builder<'_> {
    fn id(&mut self, tag: &str) -> HandoffId {
        self.seq += 1;
        HandoffId::new(format!("{}-{:02}{tag}", self.case_id, self.seq))
            .expect("generated ids are valid")
    }

    /// Advances the simulated clock by about `days` days.
    fn wait(&mut self, days: u64) {
        let jitter = self.rng.below(DAY_MS);
        self.clock = self.clock.plus_millis(days * DAY_MS + jitter);
    }

    fn push(&mut self, org: &OrgId, id: HandoffId, action: Action) {
        let dept = self.province.department(org);
        let payload = Payload {
            signer: dept.signer(),
            id,
            claimed_at: self.clock,
            action,
        };
        self.steps.push(Step {
            submission: payload.sign(&dept.key),
        });
    }

    fn digest(&mut self, what: &str) -> Digest {
        let r = self.rng.next_u64();
        Digest::sha256(&[
            what.as_bytes(),
            self.case_id.as_str().as_bytes(),
            &r.to_be_bytes(),
        ])
    }

    fn doc(&mut self, doc_type: DocumentType) -> Document {
        let pages = 1 + self.rng.below(40) as u32;
        let number = format!(
            "{}〔2026〕{}号",
            self.city.name,
            self.rng.below(9000) + 1000
        );
        Document {
            digest: self.digest(&format!("{doc_type:?}")),
            doc_type,
            number,
            pages,
        }
    }

    /// Sends a handoff (with its custody transfer when the person is detained and the case
    /// changes hands, unless this is the one the shape skips) and has the receiver sign for and
    /// accept it. Returns the handoff id.
    fn handoff(
        &mut self,
        kind: HandoffKind,
        from: &OrgId,
        to: &OrgId,
        docs: Vec<DocumentType>,
        moves_person: bool,
    ) -> HandoffId {
        let id = self.id("H");
        let documents = docs.into_iter().map(|d| self.doc(d)).collect();
        // The deliberate lapse: the PSB sends a detained person's case for prosecution as if
        // the person were free, with no custody transfer (换押); the ledger knows from the
        // arrest in force that one was due, and the procuratorate's acceptance goes through.
        let skipped = self.shape.skips_custody_transfer && kind == HandoffKind::ProsecutionTransfer;
        let custody = self.shape.custody && moves_person && !skipped;
        let h = Handoff {
            case_id: self.case_id.clone(),
            case_type: self.shape.case_type.clone(),
            procedure: self.procedure,
            kind,
            sender: from.clone(),
            receiver: to.clone(),
            persons: vec![self.person.clone()],
            custody,
            documents,
            efile_manifest: self.digest("manifest"),
            related: None,
            note: String::new(),
        };
        self.push(from, id.clone(), Action::Handoff(h));
        if custody {
            self.custody_transfer(from, &id);
        }
        self.wait(1);
        self.receive_and_accept(to, &id);
        id
    }

    fn custody_transfer(&mut self, from: &OrgId, related: &HandoffId) {
        let id = self.id("X");
        let dh = self.city.detention_house.clone();
        let h = Handoff {
            case_id: self.case_id.clone(),
            case_type: self.shape.case_type.clone(),
            procedure: self.procedure,
            kind: HandoffKind::CustodyTransfer,
            sender: from.clone(),
            receiver: dh.clone(),
            persons: vec![self.person.clone()],
            custody: true,
            documents: vec![self.doc(DocumentType::CustodyCertificate)],
            efile_manifest: self.digest("custody"),
            related: Some(related.clone()),
            note: String::new(),
        };
        self.push(from, id.clone(), Action::Handoff(h));
        self.receive_and_accept(&dh, &id);
    }

    fn receive_and_accept(&mut self, receiver: &OrgId, handoff: &HandoffId) {
        let rid = self.id("R");
        self.push(
            receiver,
            rid,
            Action::Receipt(Receipt {
                handoff: handoff.clone(),
            }),
        );
        let aid = self.id("A");
        self.push(
            receiver,
            aid,
            Action::Acceptance(Acceptance {
                handoff: handoff.clone(),
            }),
        );
    }

    fn measure(&mut self, by: &OrgId, measure: MeasureKind) {
        let id = self.id("M");
        let m = CoerciveMeasure {
            case_id: self.case_id.clone(),
            person: self.person.clone(),
            measure,
            effective_at: self.clock,
        };
        self.push(by, id, Action::CoerciveMeasure(m));
    }

    fn build(mut self) -> Vec<Step> {
        let c = self.city.clone();
        let s = self.shape.clone();
        let dd = s.case_type == CaseType::DangerousDriving;
        let fid = self.id("F");
        let filing = CaseFiling {
            case_id: self.case_id.clone(),
            case_type: s.case_type.clone(),
            procedure: self.procedure,
            persons: vec![self.person.clone()],
            plea_leniency: dd || self.rng.percent(60),
            note: String::new(),
        };
        self.push(&c.psb, fid, Action::CaseFiling(filing));
        if s.custody {
            self.measure(&c.psb, MeasureKind::Detention);
            self.wait(2);
            self.handoff(
                HandoffKind::ArrestApprovalRequest,
                &c.psb,
                &c.procuratorate,
                vec![DocumentType::ArrestRequestForm],
                false,
            );
            self.wait(5);
            self.handoff(
                HandoffKind::ArrestApprovalDecision,
                &c.procuratorate,
                &c.psb,
                vec![DocumentType::ArrestDecision],
                false,
            );
            self.measure(&c.psb, MeasureKind::Arrest);
            self.wait(30);
        } else {
            self.measure(&c.psb, MeasureKind::Bail);
            self.wait(if dd { 10 } else { 40 });
        }
        let opinion = vec![DocumentType::ProsecutionOpinion, DocumentType::Evidence];
        if s.returned_for_completion {
            let id = self.id("H");
            let documents = vec![self.doc(DocumentType::ProsecutionOpinion)];
            let h = Handoff {
                case_id: self.case_id.clone(),
                case_type: s.case_type.clone(),
                procedure: self.procedure,
                kind: HandoffKind::ProsecutionTransfer,
                sender: c.psb.clone(),
                receiver: c.procuratorate.clone(),
                persons: vec![self.person.clone()],
                custody: false,
                documents,
                efile_manifest: self.digest("manifest"),
                related: None,
                note: "证据材料待补".into(),
            };
            self.push(&c.psb, id.clone(), Action::Handoff(h));
            self.wait(1);
            let rid = self.id("R");
            self.push(
                &c.procuratorate,
                rid,
                Action::Receipt(Receipt {
                    handoff: id.clone(),
                }),
            );
            let tid = self.id("T");
            let ret = ReturnForCompletion {
                handoff: id,
                reason: "缺少证据材料".into(),
                missing: vec![DocumentType::Evidence],
            };
            self.push(&c.procuratorate, tid, Action::ReturnForCompletion(ret));
            self.wait(3);
        }
        self.handoff(
            HandoffKind::ProsecutionTransfer,
            &c.psb,
            &c.procuratorate,
            opinion,
            true,
        );
        if s.stalls {
            return self.steps;
        }
        for _ in 0..s.supplementary_returns {
            self.wait(20);
            self.handoff(
                HandoffKind::SupplementaryInvestigationReturn,
                &c.procuratorate,
                &c.psb,
                vec![DocumentType::SupplementaryOutline],
                true,
            );
            self.wait(25);
            self.handoff(
                HandoffKind::SupplementaryInvestigationResubmit,
                &c.psb,
                &c.procuratorate,
                vec![DocumentType::ProsecutionOpinion, DocumentType::Evidence],
                true,
            );
        }
        // Review takes 10 days in expedited procedure and a month otherwise (Art. 172).
        self.wait(match (dd, s.late) {
            (true, false) => 6,
            (true, true) => 14,
            (false, false) => 20,
            (false, true) => 38,
        });
        self.handoff(
            HandoffKind::PublicProsecution,
            &c.procuratorate,
            &c.court,
            vec![
                DocumentType::Indictment,
                DocumentType::SentencingRecommendation,
            ],
            true,
        );
        if s.community && !dd {
            self.handoff(
                HandoffKind::PreSentenceAssessment,
                &c.court,
                &c.community_corrections,
                vec![],
                false,
            );
        }
        if self.rng.percent(30) {
            self.handoff(
                HandoffKind::LegalAidNotice,
                &c.court,
                &c.legal_aid,
                vec![],
                false,
            );
        }
        self.wait(if dd { 5 } else { 15 });
        self.handoff(
            HandoffKind::TrialNotice,
            &c.court,
            &c.procuratorate,
            vec![DocumentType::TrialNoticeForm],
            false,
        );
        self.wait(if dd { 3 } else { 20 });
        self.handoff(
            HandoffKind::JudgmentService,
            &c.court,
            &c.procuratorate,
            vec![DocumentType::Judgment],
            false,
        );
        let mut deciding_court = c.court.clone();
        if s.appeal {
            self.wait(5);
            self.handoff(
                HandoffKind::Appeal,
                &c.court,
                &c.upper_court,
                vec![DocumentType::Judgment],
                true,
            );
            self.wait(40);
            self.handoff(
                HandoffKind::JudgmentService,
                &c.upper_court,
                &c.procuratorate,
                vec![DocumentType::Judgment],
                false,
            );
            deciding_court = c.upper_court.clone();
        } else {
            self.wait(11);
        }
        if s.community {
            // A detained person sentenced to a community sentence leaves custody when delivered
            // for it: the court that decided releases them, so no custody transfer follows.
            if s.custody {
                self.measure(&deciding_court, MeasureKind::Release);
            }
            let d = self.handoff(
                HandoffKind::ExecutionDeliveryCommunity,
                &deciding_court,
                &c.community_corrections,
                vec![DocumentType::Judgment, DocumentType::ExecutionNotice],
                false,
            );
            self.wait(5);
            let _ = d;
            self.handoff(
                HandoffKind::ExecutionReceipt,
                &c.community_corrections,
                &deciding_court,
                vec![],
                false,
            );
        } else {
            let prison = self.province.prison.clone();
            let docs = vec![
                DocumentType::Judgment,
                DocumentType::IndictmentCopy,
                DocumentType::ExecutionNotice,
                DocumentType::ClosingForm,
            ];
            self.handoff(
                HandoffKind::ExecutionDeliveryCustodial,
                &deciding_court,
                &prison,
                docs,
                true,
            );
            self.wait(10);
            self.handoff(
                HandoffKind::ExecutionReceipt,
                &prison,
                &deciding_court,
                vec![],
                false,
            );
        }
        self.steps
    }
}

/// The flow of case number `n` of a workload with `seed`, starting at `start` (simulated), with
/// the default share of missing custody transfers ([`MISSING_CUSTODY_PERCENT`]).
pub fn case_flow(province: &Province, seed: u64, n: u64, start: Timestamp) -> (Shape, Vec<Step>) {
    case_flow_with(province, seed, n, start, MISSING_CUSTODY_PERCENT)
}

/// [`case_flow`] with `missing_custody_percent` percent of custody cases skipping the custody
/// transfer of their prosecution transfer.
pub fn case_flow_with(
    province: &Province,
    seed: u64,
    n: u64,
    start: Timestamp,
    missing_custody_percent: u64,
) -> (Shape, Vec<Step>) {
    let shape = Shape::pick_with(seed, n, missing_custody_percent);
    let mut rng = SplitMix::new(seed ^ 0x5eed, n);
    let city = &province.cities[rng.below(province.cities.len() as u64) as usize];
    let procedure = match shape.case_type {
        CaseType::DangerousDriving => Procedure::Expedited,
        _ if rng.percent(40) => Procedure::Summary,
        _ => Procedure::Ordinary,
    };
    let code = &city.code;
    let b = Builder {
        province,
        city,
        case_id: CaseId::new(format!("{code}-{seed:x}-{n:06}"))
            .expect("generated case ids are valid"),
        person: PersonId::new(format!("P-{:016x}", rng.next_u64()))
            .expect("generated person ids are valid"),
        procedure,
        clock: start,
        rng,
        seq: 0,
        steps: Vec::new(),
        shape: shape.clone(),
    };
    (shape, b.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_types::clock::AlertKind;
    use proto_types::{apply, LedgerState, MemState, Outcome, Proposal, SignatureCheck};
    use std::collections::{BTreeMap, BTreeSet};

    /// What a workload's ledger shows 30 days after its last step: for every case with missing
    /// custody transfers, the kinds of the handoffs that lack one.
    struct Replay {
        shapes: BTreeMap<String, Shape>,
        missing: BTreeMap<String, Vec<String>>,
    }

    /// Applies the flows of cases `0..cases` (every step in the order of its claimed time and
    /// stamped at it, as the demo submits them), checking that none is refused or rejected.
    fn replay(seed: u64, cases: u64, missing_custody_percent: u64) -> Replay {
        let epoch = crate::demo::SIM_EPOCH;
        let province = Province::new(seed, 3, 5, epoch);
        let mut state = MemState::new();
        let submit = |state: &mut MemState, sub: &Submission, at: Timestamp| {
            let proposal = Proposal {
                submission: sub.clone(),
                stamped_at: at,
            };
            match apply(&*state, &proposal, SignatureCheck::Verify).expect("infallible") {
                Outcome::Appended(a) => {
                    assert!(
                        a.rejected_rule().is_none(),
                        "{} was rejected: {:?}",
                        sub.payload.id,
                        a.rejected_rule()
                    );
                    state.commit(&a);
                }
                other => panic!("{} was not appended: {other:?}", sub.payload.id),
            }
        };
        submit(&mut state, &province.genesis(epoch), epoch);
        let gap = 60 * DAY_MS / cases;
        let mut shapes = BTreeMap::new();
        let mut steps = Vec::new();
        for n in 0..cases {
            let (shape, flow) = case_flow_with(
                &province,
                seed,
                n,
                epoch.plus_millis(n * gap),
                missing_custody_percent,
            );
            let case = flow[0]
                .submission
                .payload
                .id
                .as_str()
                .rsplit_once('-')
                .map(|(c, _)| c.to_owned());
            shapes.insert(case.expect("case step ids are <case>-<seq>"), shape);
            steps.extend(flow);
        }
        steps.sort_by_key(|s| s.submission.payload.claimed_at);
        for step in &steps {
            submit(
                &mut state,
                &step.submission,
                step.submission.payload.claimed_at,
            );
        }
        let policy = state.registry().expect("genesis applied").policy.clone();
        let now = state.head().time.plus_millis(30 * DAY_MS);
        let (summary, alerts) =
            proto_types::supervision::summarize(state.cases(), state.handoffs(), &policy, now);
        let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in &alerts {
            if let AlertKind::MissingCustodyTransfer { handoff, .. } = &a.kind {
                let h = state
                    .handoffs()
                    .find(|h| &h.id == handoff)
                    .expect("the alert's handoff");
                missing
                    .entry(h.case_id.to_string())
                    .or_default()
                    .push(h.kind.to_string());
            }
        }
        assert_eq!(
            summary.missing_custody_transfers,
            missing.values().map(|k| k.len() as u64).sum::<u64>()
        );
        Replay { shapes, missing }
    }

    fn skipping(r: &Replay) -> BTreeSet<&String> {
        r.shapes
            .iter()
            .filter(|(_, s)| s.skips_custody_transfer)
            .map(|(c, _)| c)
            .collect()
    }

    #[test]
    fn a_custody_transfer_is_missing_only_where_the_seeded_share_skips_it() {
        for (seed, percent) in [(1, MISSING_CUSTODY_PERCENT), (7, 20)] {
            let r = replay(seed, 300, percent);
            let expected = skipping(&r);
            assert!(
                !expected.is_empty(),
                "seed {seed} at {percent}% skips some custody transfer"
            );
            let found: BTreeSet<&String> = r.missing.keys().collect();
            let unexpected: BTreeMap<_, _> = r
                .missing
                .iter()
                .filter(|(c, _)| !expected.contains(c))
                .map(|(c, k)| (c, (k, &r.shapes[c])))
                .collect();
            assert!(
                unexpected.is_empty(),
                "missing for another reason: {unexpected:#?}"
            );
            assert_eq!(found, expected, "seed {seed} at {percent}%");
            for (case, kinds) in &r.missing {
                assert_eq!(
                    kinds,
                    &vec![HandoffKind::ProsecutionTransfer.to_string()],
                    "{case}: one custody transfer missing, the prosecution transfer's"
                );
            }
        }
    }

    #[test]
    fn with_no_share_no_custody_transfer_is_missing() {
        let r = replay(1, 300, 0);
        assert!(skipping(&r).is_empty());
        let unexpected: BTreeMap<_, _> = r
            .missing
            .iter()
            .map(|(c, k)| (c, (k, &r.shapes[c])))
            .collect();
        assert!(
            unexpected.is_empty(),
            "missing for another reason: {unexpected:#?}"
        );
    }

    #[test]
    fn the_share_of_custody_cases_skipping_their_transfer_is_what_the_seed_gives() {
        let cases = 20_000;
        for seed in [1, 2, 3] {
            let at = |percent| (0..cases).map(move |n| (n, Shape::pick_with(seed, n, percent)));
            let custody: Vec<u64> = at(0).filter(|(_, s)| s.custody).map(|(n, _)| n).collect();
            let skips = |percent| -> BTreeSet<u64> {
                at(percent)
                    .filter(|(_, s)| s.skips_custody_transfer)
                    .map(|(n, _)| n)
                    .collect()
            };
            // Only custody cases, none at 0%, all at 100%.
            assert!(skips(0).is_empty());
            assert_eq!(skips(100), custody.iter().copied().collect());
            // About the share asked for (within four standard deviations), and the default is 3%.
            let share = skips(MISSING_CUSTODY_PERCENT).len() as f64 / custody.len() as f64;
            let sd = (0.03 * 0.97 / custody.len() as f64).sqrt();
            assert!((share - 0.03).abs() < 4.0 * sd, "seed {seed}: {share}");
            assert_eq!(MISSING_CUSTODY_PERCENT, 3);
            // A larger share keeps the cases of a smaller one (one draw per case), the seed
            // decides which, and the share changes no other branch.
            assert!(skips(3).is_subset(&skips(10)));
            assert_eq!(skips(3), skips(3));
            let strip = |s: Shape| Shape {
                skips_custody_transfer: false,
                ..s
            };
            for n in 0..200 {
                assert_eq!(
                    format!("{:?}", strip(Shape::pick_with(seed, n, 0))),
                    format!("{:?}", strip(Shape::pick_with(seed, n, 100)))
                );
            }
        }
        let of = |seed| -> BTreeSet<u64> {
            (0..cases)
                .filter(|n| Shape::pick(seed, *n).skips_custody_transfer)
                .collect()
        };
        assert_ne!(of(1), of(2), "another seed skips in other cases");
    }
}
