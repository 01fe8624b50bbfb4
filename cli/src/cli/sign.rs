//! The steps a department signs: `submit` (a handoff), `receive`, `accept`, `return` (the
//! receiver's answers), `file` (a case filing) and `measure` (a coercive measure). Each is
//! built and signed locally, submitted, and its receipt printed (and saved on request).

use crate::table;
use anyhow::{bail, Context, Result};
use caseledger_client::http::Answer;
use caseledger_client::keys;
use caseledger_client::steps::{self, Identity};
use clap::Args;
use proto_types::crypto::Digest;
use proto_types::domain::{CaseType, DocumentType, HandoffKind, MeasureKind, Procedure};
use proto_types::ids::{CaseId, HandoffId, KeyId, OrgId, PersonId};
use proto_types::payload::{
    Acceptance, CaseFiling, CoerciveMeasure, Document, Handoff, Receipt, ReturnForCompletion,
};
use proto_types::receipt::HEADER as RECEIPT_HEADER;
use proto_types::wire::ReceiptAnswer;
use proto_types::{Action, Entry, Record, Submission, Timestamp};
use std::path::PathBuf;

use super::{print_json, refused, Env, FAILED, OK};

/// Who signs, when, and what to do with the answer.
#[derive(Args, Debug, Clone, Default)]
pub struct SigningArgs {
    /// The signing key (PKCS#8 PEM); default: `key` in the config file.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// The signing organisation; default: `org` in the config file.
    #[arg(long)]
    pub org: Option<OrgId>,
    /// The key's id in the registry; default: `key_id` in the config file, else `k1`.
    #[arg(long)]
    pub key_id: Option<KeyId>,
    /// The claimed time, Unix milliseconds; default: the local clock.
    #[arg(long)]
    pub at: Option<u64>,
    /// Write the receipt (C2SP tlog-proof text) to this file.
    #[arg(long)]
    pub save_receipt: Option<PathBuf>,
    /// Print the node's answer as JSON.
    #[arg(long)]
    pub json: bool,
    /// Append the signed submission to this file as one JSON line instead of submitting it
    /// (a batch file for `submit --batch`).
    #[arg(long)]
    pub append_to: Option<PathBuf>,
}

impl SigningArgs {
    /// The signing identity from the flags and the config file.
    pub fn identity(&self, env: &Env) -> Result<Identity> {
        let file = env.file()?;
        let key = self
            .key
            .clone()
            .or(file.key)
            .context("no key to sign with: give --key or put `key = ...` in the config file")?;
        let org = self.org.clone().or(file.org).context(
            "no organisation to sign as: give --org or put `org = ...` in the config file",
        )?;
        let key_id = match self.key_id.clone().or(file.key_id) {
            Some(k) => k,
            None => KeyId::new("k1").expect("constant key id is valid"),
        };
        Ok(Identity::new(keys::load_pem(&key)?, org, key_id))
    }

    /// The claimed time: `--at`, else the local clock.
    pub fn at(&self) -> Timestamp {
        self.at
            .map(Timestamp::from_millis)
            .unwrap_or_else(steps::local_now)
    }
}

/// `submit`: a handoff, from flags or from a JSON file.
#[derive(Args, Debug, Clone)]
pub struct SubmitArgs {
    /// The handoff's id (client-chosen, unique; resubmitting the same bytes is idempotent).
    #[arg(long, required_unless_present = "batch")]
    pub id: Option<HandoffId>,
    /// A JSON file holding the handoff (the ledger's field names) instead of the flags below.
    #[arg(long, conflicts_with_all = ["case", "case_type", "procedure", "kind", "to", "person", "custody", "doc", "efile_manifest", "related", "note"])]
    pub from_file: Option<PathBuf>,
    /// Submit the signed submissions of FILE as one batch instead (JSON lines, or JSON values
    /// one after another as `--append-to` appends them, or a JSON array); prints one line per
    /// submission (docs/CLI.md).
    #[arg(long, conflicts_with_all = ["id", "from_file", "case", "case_type", "procedure", "kind", "to", "person", "custody", "doc", "efile_manifest", "related", "save_receipt", "append_to"])]
    pub batch: Option<PathBuf>,
    /// With `--batch`: verify every receipt of the set against the node keys this genesis
    /// file pins (exit 1 if one does not verify).
    #[arg(long, requires = "batch")]
    pub genesis: Option<PathBuf>,
    /// The case.
    #[arg(long, required_unless_present_any = ["from_file", "batch"])]
    pub case: Option<CaseId>,
    /// The case's type, e.g. THEFT.
    #[arg(long, value_parser = steps::parse_case_type, required_unless_present_any = ["from_file", "batch"])]
    pub case_type: Option<CaseType>,
    /// The procedure: ORDINARY, SUMMARY or EXPEDITED.
    #[arg(long, value_parser = steps::parse_procedure, required_unless_present_any = ["from_file", "batch"])]
    pub procedure: Option<Procedure>,
    /// What is handed over, e.g. PROSECUTION_TRANSFER.
    #[arg(long, value_parser = steps::parse_handoff_kind, required_unless_present_any = ["from_file", "batch"])]
    pub kind: Option<HandoffKind>,
    /// The receiving organisation.
    #[arg(long, required_unless_present_any = ["from_file", "batch"])]
    pub to: Option<OrgId>,
    /// A person concerned (opaque id), repeatable.
    #[arg(long)]
    pub person: Vec<PersonId>,
    /// A person concerned is in custody.
    #[arg(long)]
    pub custody: bool,
    /// A document, `TYPE:NUMBER:SHA256HEX:PAGES`, repeatable.
    #[arg(long, value_parser = steps::parse_document)]
    pub doc: Vec<Document>,
    /// SHA-256 of the electronic case file's manifest (hex).
    #[arg(long, value_parser = steps::parse_digest, required_unless_present_any = ["from_file", "batch"])]
    pub efile_manifest: Option<Digest>,
    /// The handoff this one accompanies or answers.
    #[arg(long)]
    pub related: Option<HandoffId>,
    /// A free-text note.
    #[arg(long, default_value = "")]
    pub note: String,
    #[command(flatten)]
    pub signing: SigningArgs,
}

impl SubmitArgs {
    /// The handoff the flags (or the file) describe, sent by `sender`.
    pub fn handoff(&self, sender: &OrgId) -> Result<Handoff> {
        if let Some(path) = &self.from_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let h = steps::handoff_from_json(&text)
                .with_context(|| format!("reading {}", path.display()))?;
            if &h.sender != sender {
                bail!(
                    "{} names sender {}, but {} signs",
                    path.display(),
                    h.sender,
                    sender
                );
            }
            return Ok(h);
        }
        let missing = |flag: &str| anyhow::anyhow!("--{flag} is required");
        Ok(Handoff {
            case_id: self.case.clone().ok_or_else(|| missing("case"))?,
            case_type: self.case_type.clone().ok_or_else(|| missing("case-type"))?,
            procedure: self.procedure.ok_or_else(|| missing("procedure"))?,
            kind: self.kind.clone().ok_or_else(|| missing("kind"))?,
            sender: sender.clone(),
            receiver: self.to.clone().ok_or_else(|| missing("to"))?,
            persons: self.person.clone(),
            custody: self.custody,
            documents: self.doc.clone(),
            efile_manifest: self
                .efile_manifest
                .ok_or_else(|| missing("efile-manifest"))?,
            related: self.related.clone(),
            note: self.note.clone(),
        })
    }
}

/// `receive` and `accept`: the receiver signs for, or accepts, a handoff.
#[derive(Args, Debug, Clone)]
pub struct AnswerArgs {
    /// The handoff.
    #[arg(long)]
    pub handoff: HandoffId,
    /// This step's id; default: `<handoff>:received` or `<handoff>:accepted`.
    #[arg(long)]
    pub id: Option<HandoffId>,
    #[command(flatten)]
    pub signing: SigningArgs,
}

/// `return`: the receiver returns a handoff for completion (退回补正).
#[derive(Args, Debug, Clone)]
pub struct ReturnArgs {
    /// The handoff.
    #[arg(long)]
    pub handoff: HandoffId,
    /// Why.
    #[arg(long)]
    pub reason: String,
    /// A missing document type, repeatable.
    #[arg(long, value_parser = steps::parse_document_type)]
    pub missing: Vec<DocumentType>,
    /// This step's id; default: `<handoff>:returned`.
    #[arg(long)]
    pub id: Option<HandoffId>,
    #[command(flatten)]
    pub signing: SigningArgs,
}

/// `file`: a PSB files a case (立案).
#[derive(Args, Debug, Clone)]
pub struct FileArgs {
    /// This step's id.
    #[arg(long)]
    pub id: HandoffId,
    /// The case.
    #[arg(long)]
    pub case: CaseId,
    /// Its type, e.g. DANGEROUS_DRIVING.
    #[arg(long, value_parser = steps::parse_case_type)]
    pub case_type: CaseType,
    /// Its procedure: ORDINARY, SUMMARY or EXPEDITED.
    #[arg(long, value_parser = steps::parse_procedure)]
    pub procedure: Procedure,
    /// A person concerned (opaque id), repeatable.
    #[arg(long, required = true)]
    pub person: Vec<PersonId>,
    /// 认罪认罚: the person pleads guilty and accepts punishment.
    #[arg(long)]
    pub plea_leniency: bool,
    /// A free-text note.
    #[arg(long, default_value = "")]
    pub note: String,
    #[command(flatten)]
    pub signing: SigningArgs,
}

/// `measure`: a coercive measure on a person.
#[derive(Args, Debug, Clone)]
pub struct MeasureArgs {
    /// This step's id.
    #[arg(long)]
    pub id: HandoffId,
    /// The case.
    #[arg(long)]
    pub case: CaseId,
    /// The person.
    #[arg(long)]
    pub person: PersonId,
    /// DETENTION, ARREST, BAIL, RESIDENTIAL_SURVEILLANCE or RELEASE.
    #[arg(long, value_parser = steps::parse_measure)]
    pub measure: MeasureKind,
    /// When it took effect, Unix ms; default: the claimed time.
    #[arg(long)]
    pub effective_at: Option<u64>,
    #[command(flatten)]
    pub signing: SigningArgs,
}

/// The signed submission of `submit`.
pub fn submit_step(args: &SubmitArgs, who: &Identity) -> Result<Submission> {
    let h = args.handoff(who.org())?;
    let id = args.id.clone().context("--id is required")?;
    Ok(who.sign(id, args.signing.at(), Action::Handoff(h)))
}

/// The signed submission of `receive` (`accept` when `accept` is true).
pub fn answer_step(args: &AnswerArgs, accept: bool, who: &Identity) -> Result<Submission> {
    let handoff = args.handoff.clone();
    let (suffix, action) = if accept {
        ("accepted", Action::Acceptance(Acceptance { handoff }))
    } else {
        ("received", Action::Receipt(Receipt { handoff }))
    };
    let id = match &args.id {
        Some(id) => id.clone(),
        None => steps::derived_id(&args.handoff, suffix)?,
    };
    Ok(who.sign(id, args.signing.at(), action))
}

/// The signed submission of `return`.
pub fn return_step(args: &ReturnArgs, who: &Identity) -> Result<Submission> {
    let id = match &args.id {
        Some(id) => id.clone(),
        None => steps::derived_id(&args.handoff, "returned")?,
    };
    let r = ReturnForCompletion {
        handoff: args.handoff.clone(),
        reason: args.reason.clone(),
        missing: args.missing.clone(),
    };
    Ok(who.sign(id, args.signing.at(), Action::ReturnForCompletion(r)))
}

/// The signed submission of `file`.
pub fn file_step(args: &FileArgs, who: &Identity) -> Submission {
    let f = CaseFiling {
        case_id: args.case.clone(),
        case_type: args.case_type.clone(),
        procedure: args.procedure,
        persons: args.person.clone(),
        plea_leniency: args.plea_leniency,
        note: args.note.clone(),
    };
    who.sign(args.id.clone(), args.signing.at(), Action::CaseFiling(f))
}

/// The signed submission of `measure`.
pub fn measure_step(args: &MeasureArgs, who: &Identity) -> Submission {
    let at = args.signing.at();
    let m = CoerciveMeasure {
        case_id: args.case.clone(),
        person: args.person.clone(),
        measure: args.measure,
        effective_at: args.effective_at.map(Timestamp::from_millis).unwrap_or(at),
    };
    who.sign(args.id.clone(), at, Action::CoerciveMeasure(m))
}

/// The receipt an answer carries: the body of a 2xx, or the error body's (a 409 of a recorded
/// rejection), if it is a tlog-proof text.
fn receipt_of(answer: &Answer) -> Option<ReceiptAnswer> {
    let receipt = if answer.is_success() {
        answer.parse::<ReceiptAnswer>().ok()?
    } else {
        *answer.error()?.receipt?
    };
    receipt.proof.starts_with(RECEIPT_HEADER).then_some(receipt)
}

/// Writes the answer's receipt to `path`.
fn save_receipt(
    answer: &Answer,
    receipt: Option<&ReceiptAnswer>,
    path: &std::path::Path,
) -> Result<()> {
    let text = receipt
        .map(|r| r.proof.as_str())
        .with_context(|| format!("{} answered without a receipt to save", answer.node))?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The rule and detail of the entry in a receipt, if that entry records a rejection: an
/// identical resubmission of a refused step is answered with the rejection's receipt.
fn rejection_in(receipt: &ReceiptAnswer) -> Option<(String, String)> {
    let bytes = hex::decode(&receipt.entry_hex).ok()?;
    match Entry::from_bytes(&bytes).ok()?.body.record {
        Record::Rejected(r) => Some((r.rule.code(), r.detail)),
        Record::Accepted(_) => None,
    }
}

/// Submits a signed step and reports the answer; the exit code. A rejected step (409 with
/// the rejection entry's receipt, or a resubmission of it) still has its receipt saved, and
/// exits 1.
pub async fn send(env: &Env, signing: &SigningArgs, sub: &Submission) -> Result<u8> {
    if let Some(out) = &signing.append_to {
        super::batch::append(out, sub)?;
        println!(
            "{} signed and appended to {}",
            sub.payload.id,
            out.display()
        );
        return Ok(OK);
    }
    let client = env.client()?;
    let answer: Answer = client.submit_answer(sub).await?;
    let receipt = receipt_of(&answer);
    if let Some(path) = &signing.save_receipt {
        if answer.is_success() || receipt.is_some() {
            save_receipt(&answer, receipt.as_ref(), path)?;
        }
    }
    if !answer.is_success() {
        return refused(&answer, signing.json);
    }
    let receipt = answer.parse::<ReceiptAnswer>()?;
    if let Some((rule, detail)) = rejection_in(&receipt) {
        if signing.json {
            print_json(&answer.body)?;
        } else {
            eprintln!(
                "caseledger: {} was recorded before as a rejection, entry {}: {rule}: {detail}",
                sub.payload.id, receipt.index
            );
        }
        return Ok(FAILED);
    }
    if signing.json {
        print_json(&answer.body)?;
    } else {
        let what = if receipt.duplicate {
            "already recorded"
        } else {
            "committed"
        };
        let mut t = table::Table::new(["id", "result", "index", "entry hash", "proved in tree of"]);
        t.push([
            sub.payload.id.to_string(),
            what.to_owned(),
            receipt.index.to_string(),
            receipt.entry_hash.clone(),
            receipt.tree_size.to_string(),
        ]);
        print!("{}", t.render());
    }
    Ok(OK)
}

/// Runs `submit`.
pub async fn submit(env: &Env, args: SubmitArgs) -> Result<u8> {
    if let Some(file) = &args.batch {
        return super::batch::submit(env, file, args.genesis.as_deref(), args.signing.json).await;
    }
    let who = args.signing.identity(env)?;
    send(env, &args.signing, &submit_step(&args, &who)?).await
}

/// Runs `receive` or `accept`.
pub async fn answer(env: &Env, args: AnswerArgs, accept: bool) -> Result<u8> {
    let who = args.signing.identity(env)?;
    send(env, &args.signing, &answer_step(&args, accept, &who)?).await
}

/// Runs `return`.
pub async fn give_back(env: &Env, args: ReturnArgs) -> Result<u8> {
    let who = args.signing.identity(env)?;
    send(env, &args.signing, &return_step(&args, &who)?).await
}

/// Runs `file`.
pub async fn file(env: &Env, args: FileArgs) -> Result<u8> {
    let who = args.signing.identity(env)?;
    send(env, &args.signing, &file_step(&args, &who)).await
}

/// Runs `measure`.
pub async fn measure(env: &Env, args: MeasureArgs) -> Result<u8> {
    let who = args.signing.identity(env)?;
    send(env, &args.signing, &measure_step(&args, &who)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(subcommand)]
        cmd: C,
    }

    #[derive(clap::Subcommand)]
    enum C {
        Submit(SubmitArgs),
        Return(ReturnArgs),
        Accept(AnswerArgs),
        File(FileArgs),
        Measure(MeasureArgs),
    }

    fn parse(args: &[&str]) -> Result<C, clap::Error> {
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied())).map(|t| t.cmd)
    }

    fn who() -> Identity {
        Identity::new(
            keys::derive(1, "LZ-PSB"),
            OrgId::new("LZ-PSB").expect("id"),
            KeyId::new("k1").expect("id"),
        )
    }

    #[test]
    fn submit_flags_become_the_signed_handoff() {
        let hex = "11".repeat(32);
        let doc = format!("PROSECUTION_OPINION:兰公诉〔2026〕12号:{hex}:7");
        let C::Submit(a) = parse(&[
            "submit",
            "--id",
            "H-1",
            "--case",
            "LZ-1",
            "--case-type",
            "theft",
            "--procedure",
            "ORDINARY",
            "--kind",
            "prosecution-transfer",
            "--to",
            "LZ-PROC",
            "--person",
            "P-1",
            "--person",
            "P-2",
            "--custody",
            "--doc",
            &doc,
            "--efile-manifest",
            &"22".repeat(32),
            "--related",
            "H-0",
            "--note",
            "n",
            "--at",
            "1000",
        ])
        .expect("parses") else {
            panic!("not submit")
        };
        let sub = submit_step(&a, &who()).expect("builds");
        let Action::Handoff(h) = &sub.payload.action else {
            panic!("not a handoff")
        };
        assert_eq!(sub.payload.id.as_str(), "H-1");
        assert_eq!(sub.payload.claimed_at, Timestamp::from_millis(1000));
        assert_eq!(sub.payload.signer_org().map(OrgId::as_str), Some("LZ-PSB"));
        assert_eq!(h.sender.as_str(), "LZ-PSB");
        assert_eq!(h.receiver.as_str(), "LZ-PROC");
        assert_eq!(
            (h.case_type.clone(), h.procedure, h.kind.clone()),
            (
                CaseType::Theft,
                Procedure::Ordinary,
                HandoffKind::ProsecutionTransfer
            )
        );
        assert_eq!(
            h.persons.iter().map(PersonId::as_str).collect::<Vec<_>>(),
            ["P-1", "P-2"]
        );
        assert!(h.custody);
        assert_eq!(h.documents.len(), 1);
        assert_eq!(h.documents[0].pages, 7);
        assert_eq!(h.efile_manifest.to_hex(), "22".repeat(32));
        assert_eq!(h.related.as_ref().map(HandoffId::as_str), Some("H-0"));
        assert_eq!(h.note, "n");
        let key = proto_types::crypto::PublicKey::of(&keys::derive(1, "LZ-PSB"));
        assert!(sub.verify_with(&key).is_ok());
    }

    #[test]
    fn a_handoff_from_a_json_file_signs_the_same_bytes_as_from_flags() {
        let common = ["--id", "H-1", "--at", "5"];
        let flags = [
            "--case",
            "LZ-1",
            "--case-type",
            "THEFT",
            "--procedure",
            "SUMMARY",
            "--kind",
            "TRIAL_NOTICE",
            "--to",
            "LZ-PROC",
        ];
        let manifest = "33".repeat(32);
        let mut argv = vec!["submit"];
        argv.extend(common);
        argv.extend(flags);
        argv.extend(["--efile-manifest", &manifest]);
        let C::Submit(a) = parse(&argv).expect("parses") else {
            panic!("not submit")
        };
        let from_flags = submit_step(&a, &who()).expect("builds");
        let Action::Handoff(h) = &from_flags.payload.action else {
            panic!("not a handoff")
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.json");
        std::fs::write(&path, serde_json::to_string(h).expect("json")).expect("write");
        let path = path.to_string_lossy().into_owned();
        let mut argv = vec!["submit", "--from-file", &path];
        argv.extend(common);
        let C::Submit(b) = parse(&argv).expect("parses") else {
            panic!("not submit")
        };
        let from_file = submit_step(&b, &who()).expect("builds");
        assert_eq!(
            proto_types::encoding::encode(&from_file),
            proto_types::encoding::encode(&from_flags)
        );
        let other = Identity::new(
            keys::derive(1, "LZ-PROC"),
            OrgId::new("LZ-PROC").expect("id"),
            KeyId::new("k1").expect("id"),
        );
        assert!(
            submit_step(&b, &other).is_err(),
            "a file naming another sender is refused"
        );
        let mut argv = vec!["submit", "--from-file", &path, "--case", "X"];
        argv.extend(common);
        assert!(
            parse(&argv).is_err(),
            "--from-file excludes the handoff flags"
        );
    }

    #[test]
    fn submit_refuses_missing_flags_and_bad_words() {
        assert!(parse(&["submit", "--id", "H-1", "--case", "C"]).is_err());
        let manifest = "33".repeat(32);
        let base = [
            "submit",
            "--id",
            "H-1",
            "--case",
            "C",
            "--procedure",
            "SUMMARY",
            "--kind",
            "TRIAL_NOTICE",
            "--to",
            "X",
            "--efile-manifest",
            &manifest,
        ];
        let mut argv = base.to_vec();
        argv.extend(["--case-type", "jaywalking"]);
        assert!(parse(&argv).is_err());
        let mut argv = base.to_vec();
        argv.extend(["--case-type", "THEFT", "--doc", "EVIDENCE:no-digest"]);
        assert!(parse(&argv).is_err());
    }

    #[test]
    fn receiver_steps_filing_and_measures_become_their_payloads() {
        let C::Accept(a) = parse(&["accept", "--handoff", "H-1", "--at", "7"]).expect("parses")
        else {
            panic!()
        };
        let s = answer_step(&a, true, &who()).expect("builds");
        assert_eq!(s.payload.id.as_str(), "H-1:accepted");
        assert_eq!(
            s.payload.action,
            Action::Acceptance(Acceptance {
                handoff: HandoffId::new("H-1").expect("id")
            })
        );
        let s = answer_step(&a, false, &who()).expect("builds");
        assert_eq!(s.payload.id.as_str(), "H-1:received");

        let C::Return(r) = parse(&[
            "return",
            "--handoff",
            "H-1",
            "--reason",
            "缺证据",
            "--missing",
            "EVIDENCE",
            "--missing",
            "indictment",
            "--id",
            "T-1",
        ])
        .expect("parses") else {
            panic!()
        };
        let s = return_step(&r, &who()).expect("builds");
        assert_eq!(s.payload.id.as_str(), "T-1");
        let Action::ReturnForCompletion(ret) = &s.payload.action else {
            panic!("not a return")
        };
        assert_eq!(
            ret.missing,
            vec![DocumentType::Evidence, DocumentType::Indictment]
        );
        assert_eq!(ret.reason, "缺证据");

        let C::File(f) = parse(&[
            "file",
            "--id",
            "F-1",
            "--case",
            "LZ-1",
            "--case-type",
            "DANGEROUS_DRIVING",
            "--procedure",
            "expedited",
            "--person",
            "P-1",
            "--plea-leniency",
            "--at",
            "9",
        ])
        .expect("parses") else {
            panic!()
        };
        let s = file_step(&f, &who());
        let Action::CaseFiling(cf) = &s.payload.action else {
            panic!("not a filing")
        };
        assert!(cf.plea_leniency);
        assert_eq!(
            (cf.case_type.clone(), cf.procedure),
            (CaseType::DangerousDriving, Procedure::Expedited)
        );
        assert!(
            parse(&[
                "file",
                "--id",
                "F-1",
                "--case",
                "LZ-1",
                "--case-type",
                "THEFT",
                "--procedure",
                "ORDINARY"
            ])
            .is_err(),
            "a filing names a person"
        );

        let C::Measure(m) = parse(&[
            "measure",
            "--id",
            "M-1",
            "--case",
            "LZ-1",
            "--person",
            "P-1",
            "--measure",
            "bail",
            "--at",
            "11",
        ])
        .expect("parses") else {
            panic!()
        };
        let s = measure_step(&m, &who());
        let Action::CoerciveMeasure(cm) = &s.payload.action else {
            panic!("not a measure")
        };
        assert_eq!(
            (cm.measure, cm.effective_at),
            (MeasureKind::Bail, Timestamp::from_millis(11))
        );
    }
}
