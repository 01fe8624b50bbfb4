//! The `caseledger` CLI end to end, as real processes against a 3-node in-process cluster.
//!
//! - `walk`: one case of each pilot type, from filing to execution, every step signed and
//!   submitted by the CLI (one return for supplementary investigation, one return for
//!   completion, custody transfers, an appeal), and after each stage-changing step
//!   `caseledger case <id> --json` shows the expected stage and holder.
//! - `receipts`: a saved receipt verifies offline against the genesis file, and any changed
//!   byte makes it fail; a rejected step's receipt is saved and verifies as "REJECTED";
//!   proofs, tail, idempotency, the audit (streamed from the first node that answers) and the
//!   exit codes of refusals.
//! - `key_files`: key files the CLI and the node write are read by `openssl` and Python's
//!   `cryptography`; keys they write sign through the CLI.
//! - `membership`: approvers sign a join, the department proposes it, the leader carries it out.
//!
//! The config file names a dead node first, so every call also exercises the failover.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use caseledger_client::keys;
use caseledger_tests::cluster::Cluster;
use proto_types::crypto::Digest;

/// The `caseledger` binary next to `caseledger-node` (scripts/test.sh builds both).
fn client_binary() -> PathBuf {
    let bin = caseledger_tests::process::node_binary().with_file_name("caseledger");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --bins` first",
        bin.display()
    );
    bin
}

/// Runs the CLI with a config file naming the cluster's nodes and the auditor's key, with the
/// organisations' keys kept (with a copy of the genesis) in a folder that outlives the cluster.
struct Cli {
    dir: tempfile::TempDir,
    bin: PathBuf,
    config: PathBuf,
    keys: PathBuf,
    genesis: PathBuf,
}

impl Cli {
    /// Writes every department's key as PEM and a config file whose first node is dead.
    fn new(cluster: &Cluster) -> Self {
        let own = tempfile::tempdir().expect("temp dir");
        let dir = own.path();
        let genesis = dir.join("genesis.json");
        std::fs::copy(cluster.dir.path().join("genesis.json"), &genesis).expect("copy genesis");
        let keys_dir = dir.join("keys");
        for (id, dept) in &cluster.province.departments {
            keys::save_pem(&dept.key, &keys_dir.join(format!("{id}.pem"))).expect("write key");
        }
        let mut nodes = vec!["\"127.0.0.1:1\"".to_owned()];
        nodes.extend(cluster.api_addrs().iter().map(|a| format!("{a:?}")));
        let config = dir.join("client.toml");
        // Reads are signed requests: the file names the auditor's key, which reads everything;
        // signing commands name their department with --key and --org.
        let auditor = cluster.province.auditor.as_str();
        std::fs::write(
            &config,
            format!(
                "nodes = [{}]\nkey = \"keys/{auditor}.pem\"\norg = \"{auditor}\"\n",
                nodes.join(", ")
            ),
        )
        .expect("write config");
        Self {
            bin: client_binary(),
            config,
            keys: keys_dir,
            genesis,
            dir: own,
        }
    }

    async fn run(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(&self.bin)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("CASELEDGER_NODES")
            .output()
            .await
            .expect("run caseledger")
    }

    /// Runs and expects exit code `code`; returns stdout.
    async fn expect(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "caseledger {args:?} exited {:?}:\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs a signing command as `org`, expecting success.
    async fn sign(&self, org: &str, args: &[&str]) -> String {
        let key = self.keys.join(format!("{org}.pem"));
        let key = key.to_string_lossy();
        let mut all = args.to_vec();
        all.extend(["--key", &key, "--org", org]);
        self.expect(0, &all).await
    }

    async fn case_json(&self, case: &str) -> serde_json::Value {
        let out = self.expect(0, &["case", case, "--json"]).await;
        serde_json::from_str(&out).expect("case --json prints JSON")
    }
}

mod walk {
    use super::*;

    const PSB: &str = "LZ-PSB";
    const PROC: &str = "LZ-PROC";
    const COURT: &str = "LZ-COURT";
    const UPPER: &str = "LZ-INT-COURT";
    const DH: &str = "LZ-DH";
    const CC: &str = "LZ-CC";
    const LA: &str = "LZ-LA";
    const PRISON: &str = "GS-PRISON-1";

    /// One case being walked through the CLI.
    struct Walk {
        cli: Arc<Cli>,
        case: String,
        case_type: &'static str,
        procedure: &'static str,
        person: String,
        seq: u32,
        at: u64,
    }

    impl Walk {
        fn new(
            cli: Arc<Cli>,
            case: &str,
            case_type: &'static str,
            procedure: &'static str,
        ) -> Self {
            let at = caseledger_tests::cluster::EPOCH.as_millis();
            Self {
                cli,
                case: case.into(),
                case_type,
                procedure,
                person: format!("P-{case}"),
                seq: 0,
                at,
            }
        }

        fn id(&mut self, tag: &str) -> String {
            self.seq += 1;
            format!("{}-{:02}{tag}", self.case, self.seq)
        }

        /// The next claimed time: an hour later (reproducible, not the wall clock).
        fn at(&mut self) -> String {
            self.at += 3_600_000;
            self.at.to_string()
        }

        fn doc(&self, doc_type: &str) -> String {
            let digest = Digest::sha256(&[self.case.as_bytes(), doc_type.as_bytes()]);
            format!(
                "{doc_type}:{}〔2026〕{}号:{}:{}",
                self.case,
                self.seq,
                digest.to_hex(),
                3 + self.seq
            )
        }

        async fn file(&mut self) {
            let (id, at) = (self.id("F"), self.at());
            let args = [
                "file",
                "--id",
                &id,
                "--case",
                &self.case,
                "--case-type",
                self.case_type,
                "--procedure",
                self.procedure,
                "--person",
                &self.person,
                "--at",
                &at,
            ];
            self.cli.sign(PSB, &args).await;
        }

        async fn measure(&mut self, measure: &str) {
            let (id, at) = (self.id("M"), self.at());
            let args = [
                "measure",
                "--id",
                &id,
                "--case",
                &self.case,
                "--person",
                &self.person,
                "--measure",
                measure,
                "--at",
                &at,
            ];
            self.cli.sign(PSB, &args).await;
        }

        /// Sends a handoff; returns its id.
        async fn send(
            &mut self,
            kind: &str,
            from: &str,
            to: &str,
            docs: &[&str],
            custody: bool,
            related: Option<&str>,
        ) -> String {
            let (id, at) = (self.id("H"), self.at());
            let manifest = Digest::sha256(&[id.as_bytes(), b"manifest"]).to_hex();
            let docs: Vec<String> = docs.iter().map(|d| self.doc(d)).collect();
            let mut args = vec![
                "submit",
                "--id",
                &id,
                "--case",
                &self.case,
                "--case-type",
                self.case_type,
                "--procedure",
                self.procedure,
                "--kind",
                kind,
                "--to",
                to,
                "--person",
                &self.person,
                "--efile-manifest",
                &manifest,
                "--at",
                &at,
            ];
            if custody {
                args.push("--custody");
            }
            for d in &docs {
                args.extend(["--doc", d]);
            }
            if let Some(r) = related {
                args.extend(["--related", r]);
            }
            self.cli.sign(from, &args).await;
            id
        }

        async fn receive_and_accept(&mut self, org: &str, handoff: &str) {
            let at = self.at();
            self.cli
                .sign(org, &["receive", "--handoff", handoff, "--at", &at])
                .await;
            let at = self.at();
            self.cli
                .sign(org, &["accept", "--handoff", handoff, "--at", &at])
                .await;
        }

        /// A handoff the receiver signs for and accepts; with `custody`, the person moves
        /// with it and a custody transfer (换押) to the detention house goes first.
        async fn handoff(
            &mut self,
            kind: &str,
            from: &str,
            to: &str,
            docs: &[&str],
            custody: bool,
        ) -> String {
            let id = self.send(kind, from, to, docs, custody, None).await;
            if custody {
                let transfer = self
                    .send(
                        "CUSTODY_TRANSFER",
                        from,
                        DH,
                        &["CUSTODY_CERTIFICATE"],
                        true,
                        Some(&id),
                    )
                    .await;
                self.receive_and_accept(DH, &transfer).await;
            }
            self.receive_and_accept(to, &id).await;
            id
        }

        async fn expect(&self, stage: &str, holder: &str) {
            let v = self.cli.case_json(&self.case).await;
            assert_eq!(
                (v["stage"].as_str(), v["holder"].as_str()),
                (Some(stage), Some(holder)),
                "case {} after step {}: {}",
                self.case,
                self.seq,
                serde_json::to_string_pretty(&v["case"]["history"]).unwrap_or_default()
            );
        }

        /// From public prosecution to the judgment's service, at the first-instance court.
        async fn trial(&mut self, custody: bool) {
            self.handoff(
                "PUBLIC_PROSECUTION",
                PROC,
                COURT,
                &["INDICTMENT", "SENTENCING_RECOMMENDATION"],
                custody,
            )
            .await;
            self.expect("FIRST_INSTANCE", COURT).await;
            self.handoff("TRIAL_NOTICE", COURT, PROC, &["TRIAL_NOTICE_FORM"], false)
                .await;
            self.expect("FIRST_INSTANCE", COURT).await;
            self.handoff("JUDGMENT_SERVICE", COURT, PROC, &["JUDGMENT"], false)
                .await;
            self.expect("APPEAL_WINDOW", COURT).await;
        }

        /// Community execution ordered by `court`.
        async fn community(&mut self, court: &str) {
            self.handoff(
                "EXECUTION_DELIVERY_COMMUNITY",
                court,
                CC,
                &["JUDGMENT", "EXECUTION_NOTICE"],
                false,
            )
            .await;
            self.expect("EXECUTION_COMMUNITY", CC).await;
            self.handoff("EXECUTION_RECEIPT", CC, court, &[], false)
                .await;
            self.expect("EXECUTION_COMMUNITY", CC).await;
        }
    }

    /// 危险驾驶: expedited, on bail, community correction.
    async fn dangerous_driving(cli: Arc<Cli>) {
        let mut w = Walk::new(cli, "LZ-DD-1", "DANGEROUS_DRIVING", "EXPEDITED");
        w.file().await;
        w.measure("BAIL").await;
        w.expect("INVESTIGATION", PSB).await;
        w.handoff(
            "PROSECUTION_TRANSFER",
            PSB,
            PROC,
            &["PROSECUTION_OPINION", "EVIDENCE"],
            false,
        )
        .await;
        w.expect("PROSECUTION_REVIEW", PROC).await;
        w.trial(false).await;
        w.community(COURT).await;
    }

    /// 盗窃: detained, arrest review, arrested, returned once for supplementary
    /// investigation, custody transfers at every move, prison.
    async fn theft(cli: Arc<Cli>) {
        let mut w = Walk::new(cli, "LZ-THEFT-1", "THEFT", "ORDINARY");
        w.file().await;
        w.measure("DETENTION").await;
        w.expect("INVESTIGATION", PSB).await;
        w.handoff(
            "ARREST_APPROVAL_REQUEST",
            PSB,
            PROC,
            &["ARREST_REQUEST_FORM"],
            false,
        )
        .await;
        w.expect("ARREST_REVIEW", PROC).await;
        w.handoff(
            "ARREST_APPROVAL_DECISION",
            PROC,
            PSB,
            &["ARREST_DECISION"],
            false,
        )
        .await;
        w.expect("INVESTIGATION", PSB).await;
        w.measure("ARREST").await;
        w.handoff(
            "PROSECUTION_TRANSFER",
            PSB,
            PROC,
            &["PROSECUTION_OPINION", "EVIDENCE"],
            true,
        )
        .await;
        w.expect("PROSECUTION_REVIEW", PROC).await;
        w.handoff(
            "SUPPLEMENTARY_INVESTIGATION_RETURN",
            PROC,
            PSB,
            &["SUPPLEMENTARY_OUTLINE"],
            true,
        )
        .await;
        w.expect("SUPPLEMENTARY_INVESTIGATION", PSB).await;
        w.handoff(
            "SUPPLEMENTARY_INVESTIGATION_RESUBMIT",
            PSB,
            PROC,
            &["PROSECUTION_OPINION", "EVIDENCE"],
            true,
        )
        .await;
        w.expect("PROSECUTION_REVIEW", PROC).await;
        w.trial(true).await;
        let docs = [
            "JUDGMENT",
            "INDICTMENT_COPY",
            "EXECUTION_NOTICE",
            "CLOSING_FORM",
        ];
        w.handoff("EXECUTION_DELIVERY_CUSTODIAL", COURT, PRISON, &docs, true)
            .await;
        w.expect("EXECUTION_CUSTODIAL", PRISON).await;
        w.handoff("EXECUTION_RECEIPT", PRISON, COURT, &[], false)
            .await;
        w.expect("EXECUTION_CUSTODIAL", PRISON).await;
        let v = w.cli.case_json(&w.case).await;
        assert_eq!(
            v["case"]["supplementary_returns"], 1,
            "one return for supplementary investigation"
        );
    }

    /// 故意伤害: summary procedure, pre-sentence assessment and legal aid, community.
    async fn intentional_injury(cli: Arc<Cli>) {
        let mut w = Walk::new(cli, "LZ-INJ-1", "INTENTIONAL_INJURY", "SUMMARY");
        w.file().await;
        w.measure("BAIL").await;
        w.handoff(
            "PROSECUTION_TRANSFER",
            PSB,
            PROC,
            &["PROSECUTION_OPINION", "EVIDENCE"],
            false,
        )
        .await;
        w.expect("PROSECUTION_REVIEW", PROC).await;
        w.handoff(
            "PUBLIC_PROSECUTION",
            PROC,
            COURT,
            &["INDICTMENT", "SENTENCING_RECOMMENDATION"],
            false,
        )
        .await;
        w.expect("FIRST_INSTANCE", COURT).await;
        w.handoff("PRE_SENTENCE_ASSESSMENT", COURT, CC, &[], false)
            .await;
        w.handoff("LEGAL_AID_NOTICE", COURT, LA, &[], false).await;
        w.expect("FIRST_INSTANCE", COURT).await;
        w.handoff("TRIAL_NOTICE", COURT, PROC, &["TRIAL_NOTICE_FORM"], false)
            .await;
        w.handoff("JUDGMENT_SERVICE", COURT, PROC, &["JUDGMENT"], false)
            .await;
        w.expect("APPEAL_WINDOW", COURT).await;
        w.community(COURT).await;
    }

    /// 交通肇事: appealed to the intermediate court, which serves the final judgment and
    /// orders execution.
    async fn traffic_accident(cli: Arc<Cli>) {
        let mut w = Walk::new(cli, "LZ-TRAFFIC-1", "TRAFFIC_ACCIDENT", "ORDINARY");
        w.file().await;
        w.measure("BAIL").await;
        w.handoff(
            "PROSECUTION_TRANSFER",
            PSB,
            PROC,
            &["PROSECUTION_OPINION", "EVIDENCE"],
            false,
        )
        .await;
        w.expect("PROSECUTION_REVIEW", PROC).await;
        w.trial(false).await;
        w.handoff("APPEAL", COURT, UPPER, &["JUDGMENT"], false)
            .await;
        w.expect("SECOND_INSTANCE", UPPER).await;
        w.handoff("JUDGMENT_SERVICE", UPPER, PROC, &["JUDGMENT"], false)
            .await;
        w.expect("EFFECTIVE", UPPER).await;
        w.community(UPPER).await;
    }

    /// 寻衅滋事: residential surveillance, summary procedure, community.
    async fn picking_quarrels(cli: Arc<Cli>) {
        let mut w = Walk::new(cli, "LZ-PQ-1", "PICKING_QUARRELS", "SUMMARY");
        w.file().await;
        w.measure("RESIDENTIAL_SURVEILLANCE").await;
        w.expect("INVESTIGATION", PSB).await;
        w.handoff(
            "PROSECUTION_TRANSFER",
            PSB,
            PROC,
            &["PROSECUTION_OPINION", "EVIDENCE"],
            false,
        )
        .await;
        w.expect("PROSECUTION_REVIEW", PROC).await;
        w.trial(false).await;
        w.community(COURT).await;
    }

    /// 诈骗: the first prosecution transfer is returned for completion (退回补正) and resent.
    async fn fraud(cli: Arc<Cli>) {
        let mut w = Walk::new(cli, "LZ-FRAUD-1", "FRAUD", "ORDINARY");
        w.file().await;
        w.measure("BAIL").await;
        let first = w
            .send(
                "PROSECUTION_TRANSFER",
                PSB,
                PROC,
                &["PROSECUTION_OPINION"],
                false,
                None,
            )
            .await;
        let at = w.at();
        w.cli
            .sign(PROC, &["receive", "--handoff", &first, "--at", &at])
            .await;
        let at = w.at();
        w.cli
            .sign(
                PROC,
                &[
                    "return",
                    "--handoff",
                    &first,
                    "--reason",
                    "缺少证据材料",
                    "--missing",
                    "EVIDENCE",
                    "--at",
                    &at,
                ],
            )
            .await;
        w.expect("INVESTIGATION", PSB).await;
        let v = w.cli.case_json(&w.case).await;
        let returned = v["handoffs"]
            .as_array()
            .and_then(|hs| hs.iter().find(|h| h["id"] == first.as_str()))
            .cloned()
            .unwrap_or_default();
        assert_eq!(returned["status"], "RETURNED_FOR_COMPLETION", "{returned}");
        let resent = w
            .send(
                "PROSECUTION_TRANSFER",
                PSB,
                PROC,
                &["PROSECUTION_OPINION", "EVIDENCE"],
                false,
                Some(&first),
            )
            .await;
        w.receive_and_accept(PROC, &resent).await;
        w.expect("PROSECUTION_REVIEW", PROC).await;
        w.trial(false).await;
        w.community(COURT).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn walks_one_case_of_each_pilot_type_from_filing_to_execution() {
        let cluster = Cluster::start(3).await;
        let cli = Arc::new(Cli::new(&cluster));
        let mut walks = tokio::task::JoinSet::new();
        walks.spawn(dangerous_driving(cli.clone()));
        walks.spawn(theft(cli.clone()));
        walks.spawn(intentional_injury(cli.clone()));
        walks.spawn(traffic_accident(cli.clone()));
        walks.spawn(picking_quarrels(cli.clone()));
        walks.spawn(fraud(cli.clone()));
        while let Some(done) = walks.join_next().await {
            if let Err(e) = done {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        // Nothing was rejected along the way: every case's timeline is all accepted steps.
        for case in [
            "LZ-DD-1",
            "LZ-THEFT-1",
            "LZ-INJ-1",
            "LZ-TRAFFIC-1",
            "LZ-PQ-1",
            "LZ-FRAUD-1",
        ] {
            let v = cli.case_json(case).await;
            let timeline = v["timeline"].as_array().expect("a timeline");
            assert!(
                timeline.iter().all(|e| e["rejected"].is_null()),
                "{case} has a rejected step: {timeline:?}"
            );
        }
        let table = cli.expect(0, &["case", "LZ-THEFT-1"]).await;
        assert!(
            table.contains("EXECUTION_CUSTODIAL")
                && table.contains("SUPPLEMENTARY_INVESTIGATION")
                && table.contains("timeline"),
            "{table}"
        );
        cluster.shutdown().await;
    }
}

mod receipts {
    use super::*;

    /// Files a case with `--save-receipt`; returns the receipt's path.
    async fn filed_with_receipt(cli: &Cli, dir: &Path) -> PathBuf {
        let path = dir.join("filing.receipt");
        let p = path.to_string_lossy();
        let args = [
            "file",
            "--id",
            "R-F-1",
            "--case",
            "LZ-R-1",
            "--case-type",
            "THEFT",
            "--procedure",
            "ORDINARY",
            "--person",
            "P-R-1",
            "--at",
            "1767574800000",
            "--save-receipt",
            &p,
        ];
        cli.sign("LZ-PSB", &args).await;
        path
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_saved_receipt_verifies_offline_and_any_changed_byte_fails() {
        let cluster = Cluster::start(3).await;
        let cli = Cli::new(&cluster);
        let dir = cli.dir.path().join("receipts");
        std::fs::create_dir_all(&dir).expect("dir");
        let receipt = filed_with_receipt(&cli, &dir).await;
        let genesis = cli.genesis.to_string_lossy().into_owned();
        cluster.shutdown().await;

        // Offline: the cluster is gone.
        let r = receipt.to_string_lossy();
        let out = cli
            .expect(0, &["verify-receipt", &r, "--genesis", &genesis])
            .await;
        assert!(out.starts_with("VERIFIED"), "{out}");
        let v: serde_json::Value = serde_json::from_str(
            &cli.expect(0, &["verify-receipt", &r, "--genesis", &genesis, "--json"])
                .await,
        )
        .expect("json");
        assert_eq!(
            (
                v["verified"].as_bool(),
                v["id"].as_str(),
                v["kind"].as_str()
            ),
            (Some(true), Some("R-F-1"), Some("case_filing"))
        );
        assert_eq!(v["outcome"], "accepted", "{v}");

        // Every changed byte is caught (the library, for each byte) ...
        let text = std::fs::read(&receipt).expect("receipt");
        let trusted = caseledger_client::trust::node_keys_from_genesis(
            &std::fs::read_to_string(&cli.genesis).expect("genesis"),
        )
        .expect("keys");
        for i in 0..text.len() {
            let mut changed = text.clone();
            changed[i] ^= 0x01;
            let verdict = String::from_utf8(changed)
                .ok()
                .map(|t| caseledger_client::trust::verify_receipt_text(&t, &trusted));
            assert!(
                !matches!(verdict, Some(Ok(_))),
                "a change at byte {i} of the receipt verified"
            );
        }
        // ... and the CLI exits 1 for a spread of them, from the header to the signatures.
        let positions: Vec<usize> = (0..text.len())
            .step_by(text.len() / 24 + 1)
            .chain([text.len() - 2])
            .collect();
        for i in positions {
            let mut changed = text.clone();
            changed[i] ^= 0x01;
            let path = dir.join(format!("changed-{i}.receipt"));
            std::fs::write(&path, &changed).expect("write");
            let out = cli
                .expect(
                    1,
                    &[
                        "verify-receipt",
                        &path.to_string_lossy(),
                        "--genesis",
                        &genesis,
                    ],
                )
                .await;
            assert!(out.starts_with("NOT VERIFIED"), "byte {i}: {out}");
        }

        // Another cluster's genesis does not vouch for it.
        let other = caseledger_lab::pilot::Province::new(8, 1, 3, caseledger_tests::cluster::EPOCH);
        let other_dir = dir.join("other");
        let other_genesis = caseledger_tests::cluster::write_province(&other, &other_dir);
        cli.expect(
            1,
            &[
                "verify-receipt",
                &r,
                "--genesis",
                &other_genesis.to_string_lossy(),
            ],
        )
        .await;
        // A missing file is "could not run".
        cli.expect(
            2,
            &[
                "verify-receipt",
                &dir.join("none").to_string_lossy(),
                "--genesis",
                &genesis,
            ],
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn reads_proofs_idempotency_and_refusals_have_their_exit_codes() {
        let cluster = Cluster::start(3).await;
        let cli = Cli::new(&cluster);
        let dir = cli.dir.path().join("receipts");
        std::fs::create_dir_all(&dir).expect("dir");
        filed_with_receipt(&cli, &dir).await;

        // The same step again is idempotent; the same id with other bytes is refused.
        let again = cli
            .sign(
                "LZ-PSB",
                &[
                    "file",
                    "--id",
                    "R-F-1",
                    "--case",
                    "LZ-R-1",
                    "--case-type",
                    "THEFT",
                    "--procedure",
                    "ORDINARY",
                    "--person",
                    "P-R-1",
                    "--at",
                    "1767574800000",
                ],
            )
            .await;
        assert!(again.contains("already recorded"), "{again}");
        let key = cli.keys.join("LZ-PSB.pem");
        let key = key.to_string_lossy();
        let reused = [
            "file",
            "--id",
            "R-F-1",
            "--case",
            "LZ-R-1",
            "--case-type",
            "THEFT",
            "--procedure",
            "ORDINARY",
            "--person",
            "P-R-2",
            "--key",
            &key,
            "--org",
            "LZ-PSB",
            "--json",
        ];
        let out = cli.expect(1, &reused).await;
        assert!(out.contains("ID_REUSED"), "{out}");
        // A step that breaks a workflow rule is rejected: exit 1, the rule named, and the
        // rejection entry's receipt saved.
        let rejected = dir.join("rejected.receipt");
        let rejected_path = rejected.to_string_lossy();
        let bad = [
            "measure",
            "--id",
            "R-M-1",
            "--case",
            "LZ-NOPE",
            "--person",
            "P-R-1",
            "--measure",
            "BAIL",
            "--key",
            &key,
            "--org",
            "LZ-PSB",
            "--json",
            "--at",
            "1767574800000",
            "--save-receipt",
            &rejected_path,
        ];
        let out = cli.expect(1, &bad).await;
        let v: serde_json::Value = serde_json::from_str(&out).expect("error JSON");
        assert_eq!(v["code"], "UNKNOWN_CASE", "{v}");
        let rejected_index = v["index"].as_u64().expect("the rejection entry's index");
        let rejected_size = v["receipt"]["tree_size"]
            .as_u64()
            .expect("the receipt's size");
        assert_eq!(
            std::fs::read_to_string(&rejected).expect("the receipt is saved"),
            v["receipt"]["proof"]
                .as_str()
                .expect("a receipt in the 409")
        );
        // The same bytes again are the same rejection (the node answers its receipt as a
        // resubmission's): still exit 1, the receipt saved again.
        std::fs::remove_file(&rejected).expect("remove");
        let again: serde_json::Value =
            serde_json::from_str(&cli.expect(1, &bad).await).expect("JSON");
        assert_eq!(
            (again["index"].as_u64(), again["duplicate"].as_bool()),
            (Some(rejected_index), Some(true)),
            "{again}"
        );
        assert!(rejected.exists(), "the resubmission's receipt is saved");
        // Signing with a key the registry does not hold for the organisation is refused.
        let wrong = cli.keys.join("LZ-PROC.pem");
        let out = cli
            .run(&[
                "measure",
                "--id",
                "R-M-2",
                "--case",
                "LZ-R-1",
                "--person",
                "P-R-1",
                "--measure",
                "BAIL",
                "--key",
                &wrong.to_string_lossy(),
                "--org",
                "LZ-PSB",
            ])
            .await;
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        // Reads.
        let v = cli.case_json("LZ-R-1").await;
        assert_eq!(
            (v["stage"].as_str(), v["holder"].as_str()),
            (Some("INVESTIGATION"), Some("LZ-PSB"))
        );
        cli.expect(1, &["case", "LZ-NO-SUCH-CASE"]).await;
        let heads: serde_json::Value =
            serde_json::from_str(&cli.expect(0, &["head", "--json"]).await).expect("json");
        assert_eq!(
            heads.as_array().map(Vec::len),
            Some(4),
            "one row per configured node, the dead one included"
        );
        let size = heads[1]["head"]["size"].as_u64().expect("size");
        let proof: serde_json::Value =
            serde_json::from_str(&cli.expect(0, &["prove", "1", "--json"]).await).expect("json");
        assert_eq!(proof["verified"], true, "{proof}");
        let out = cli
            .expect(0, &["prove", "0", "--tree-size", &size.to_string()])
            .await;
        assert!(out.contains("VERIFIED"), "{out}");
        let tail = cli
            .expect(0, &["tail", "--from", "0", "--count", "2", "--json"])
            .await;
        let lines: Vec<serde_json::Value> = tail
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 2, "{tail}");
        assert_eq!(lines[0]["kind"], "genesis");
        cli.expect(0, &["stats", "--json"]).await;
        cli.expect(0, &["overdue", "--json"]).await;
        // The audit streams from the first node that answers (the dead one is first) and says
        // so, naming the node it could not compare.
        let audit = cli.expect(0, &["audit"]).await;
        let first_live = format!("http://{}", cluster.api_addrs()[0]);
        assert!(
            audit.contains(&format!("streamed from {first_live};")),
            "{audit}"
        );
        assert!(
            audit.contains("not compared (no head from it)") && audit.contains("127.0.0.1:1"),
            "{audit}"
        );
        assert!(audit.contains("INTACT"), "{audit}");
        let at_date: serde_json::Value = serde_json::from_str(
            &cli.expect(0, &["overdue", "--now", "2026-09-01T00:00:00Z", "--json"])
                .await,
        )
        .expect("json");
        assert_eq!(at_date["now"], 1_788_220_800_000u64, "{at_date}");
        cli.expect(2, &["overdue", "--now", "18446744073709551615"])
            .await;
        cluster.shutdown().await;

        // No node answers: could not run.
        cli.expect(2, &["head"]).await;
        cli.expect(2, &["case", "LZ-R-1"]).await;
        cli.expect(2, &["audit"]).await;

        // Offline, the rejection's receipt verifies and says what it proves.
        let genesis = cli.genesis.to_string_lossy().into_owned();
        let out = cli
            .expect(
                0,
                &["verify-receipt", &rejected_path, "--genesis", &genesis],
            )
            .await;
        assert!(
            out.starts_with(&format!(
                "REJECTED at index {rejected_index} by rule UNKNOWN_CASE, included in the tree of size {rejected_size}"
            )),
            "{out}"
        );
        let v: serde_json::Value = serde_json::from_str(
            &cli.expect(
                0,
                &[
                    "verify-receipt",
                    &rejected_path,
                    "--genesis",
                    &genesis,
                    "--json",
                ],
            )
            .await,
        )
        .expect("json");
        assert_eq!(
            (
                v["verified"].as_bool(),
                v["outcome"].as_str(),
                v["rule"].as_str(),
                v["id"].as_str()
            ),
            (
                Some(true),
                Some("rejected"),
                Some("UNKNOWN_CASE"),
                Some("R-M-1")
            )
        );
    }
}

/// Key files and standard tools: what `caseledger keygen` and `caseledger-node init` write is
/// read by Debian's `openssl` and by Python's `cryptography`, with the same public key, and a
/// key made by `openssl genpkey` signs steps through the CLI (scripts/prereqs.sh installs both
/// tools; a machine without them fails these tests).
mod key_files {
    use super::*;
    use caseledger_client::http::SubmitOutcome;
    use proto_types::crypto::PublicKey;
    use proto_types::ids::{KeyId, OrgId};
    use proto_types::payload::{Approval, KeyDecl, KeyLifecycle, KeyOp};
    use proto_types::{Action, Payload};
    use std::ffi::OsStr;
    use std::process::Command;

    /// Runs a tool and expects it to succeed; its stdout.
    fn tool<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Vec<u8> {
        let out = Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot start {program} ({e}): scripts/prereqs.sh installs it")
            });
        assert!(
            out.status.success(),
            "{program} exited {}:\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The public key (hex) that `openssl pkey` derives from a private key file.
    fn openssl_public_key(pem: &Path) -> String {
        let der = tool(
            "openssl",
            &[
                OsStr::new("pkey"),
                OsStr::new("-in"),
                pem.as_os_str(),
                OsStr::new("-pubout"),
                OsStr::new("-outform"),
                OsStr::new("DER"),
            ],
        );
        // An Ed25519 SubjectPublicKeyInfo (RFC 8410 §4): a fixed 12-byte header, then the key.
        assert_eq!(
            der.get(..12).map(hex::encode).as_deref(),
            Some("302a300506032b6570032100"),
            "openssl pkey -pubout of {}",
            pem.display()
        );
        hex::encode(&der[12..])
    }

    /// The public key (hex) that Python's `cryptography` derives from a private key file.
    fn python_public_key(pem: &Path) -> String {
        const READ: &str = "import sys\n\
            from cryptography.hazmat.primitives.serialization import load_pem_private_key, Encoding, PublicFormat\n\
            key = load_pem_private_key(open(sys.argv[1], 'rb').read(), password=None)\n\
            print(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex())\n";
        let out = tool(
            "python3",
            &[OsStr::new("-c"), OsStr::new(READ), pem.as_os_str()],
        );
        String::from_utf8_lossy(&out).trim().to_owned()
    }

    /// The `ed25519:<hex>` public key in a line of a tool's output that starts with `prefix`.
    fn printed_key(stdout: &[u8], prefix: &str) -> String {
        let text = String::from_utf8_lossy(stdout);
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|k| k.trim().strip_prefix("ed25519:"))
            .unwrap_or_else(|| panic!("no `{prefix}ed25519:<hex>` line in:\n{text}"))
            .to_owned()
    }

    #[test]
    fn keys_written_by_the_cli_and_the_node_are_read_by_openssl_and_python_as_the_same_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cli_key = dir.path().join("cli.pem");
        let out = tool(
            &client_binary().to_string_lossy(),
            &[
                OsStr::new("keygen"),
                OsStr::new("--out"),
                cli_key.as_os_str(),
            ],
        );
        let cli_public = printed_key(&out, "");
        let node_dir = dir.path().join("node");
        let out = tool(
            &caseledger_tests::process::node_binary().to_string_lossy(),
            &[
                OsStr::new("init"),
                OsStr::new("--data-dir"),
                node_dir.as_os_str(),
            ],
        );
        let node_public = printed_key(&out, "public key: ");
        for (file, public) in [
            (cli_key, cli_public),
            (node_dir.join("node.pem"), node_public),
        ] {
            assert_eq!(openssl_public_key(&file), public, "{}", file.display());
            assert_eq!(python_public_key(&file), public, "{}", file.display());
            // `openssl pkey` re-writes it byte for byte: the file is OpenSSL's own form.
            let text = std::fs::read(&file).expect("read the key");
            let rewritten = tool(
                "openssl",
                &[OsStr::new("pkey"), OsStr::new("-in"), file.as_os_str()],
            );
            assert_eq!(
                String::from_utf8_lossy(&rewritten),
                String::from_utf8_lossy(&text),
                "{}",
                file.display()
            );
        }
    }

    #[test]
    fn keys_written_by_openssl_and_python_load_as_the_key_they_show() {
        let dir = tempfile::tempdir().expect("temp dir");
        let by_openssl = dir.path().join("openssl.pem");
        tool(
            "openssl",
            &[
                OsStr::new("genpkey"),
                OsStr::new("-algorithm"),
                OsStr::new("ed25519"),
                OsStr::new("-out"),
                by_openssl.as_os_str(),
            ],
        );
        let by_python = dir.path().join("python.pem");
        const WRITE: &str = "import sys\n\
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey\n\
            from cryptography.hazmat.primitives.serialization import Encoding, PrivateFormat, NoEncryption\n\
            pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())\n\
            open(sys.argv[1], 'wb').write(pem)\n";
        tool(
            "python3",
            &[OsStr::new("-c"), OsStr::new(WRITE), by_python.as_os_str()],
        );
        for file in [by_openssl, by_python] {
            let key = keys::load_pem(&file).expect("caseledger reads the key");
            assert_eq!(
                hex::encode(PublicKey::of(&key).as_bytes()),
                openssl_public_key(&file),
                "{}",
                file.display()
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_key_made_by_openssl_genpkey_signs_a_step_through_the_cli() {
        let cluster = Cluster::start(1).await;
        let cli = Cli::new(&cluster);
        let pem = cli.dir.path().join("psb-openssl.pem");
        tool(
            "openssl",
            &[
                OsStr::new("genpkey"),
                OsStr::new("-algorithm"),
                OsStr::new("ed25519"),
                OsStr::new("-out"),
                pem.as_os_str(),
            ],
        );
        let mut public = [0u8; 32];
        hex::decode_to_slice(openssl_public_key(&pem), &mut public).expect("32 bytes");

        // The PSB adds the openssl key as its key `k-openssl`, approved as the policy requires.
        let p = &cluster.province;
        let psb = p.department(&OrgId::new("LZ-PSB").expect("org id"));
        let op = KeyOp::AddKey {
            org: psb.id().clone(),
            key: KeyDecl {
                key_id: KeyId::new("k-openssl").expect("key id"),
                public_key: PublicKey::ed25519(public),
                valid_from: caseledger_tests::cluster::EPOCH,
                valid_until: None,
            },
        };
        let approvals = p
            .policy()
            .approvals
            .approvers
            .iter()
            .take(2)
            .map(|a| {
                let d = p.department(a);
                Approval::sign(d.key_ref(), &d.key, &op)
            })
            .collect();
        let add = Payload {
            signer: psb.signer(),
            id: "add-openssl-key".parse().expect("id"),
            claimed_at: caseledger_tests::cluster::EPOCH,
            action: Action::KeyLifecycle(KeyLifecycle { op, approvals }),
        }
        .sign(&psb.key);
        let outcome = cluster.client().submit(&add).await.expect("submit");
        assert!(
            matches!(outcome, SubmitOutcome::Committed { .. }),
            "{outcome:?}"
        );

        // The CLI signs a filing with the openssl key: the node verifies it against the
        // registry's `k-openssl` and commits it.
        let key = pem.to_string_lossy();
        let out = cli
            .expect(
                0,
                &[
                    "file",
                    "--id",
                    "K-F-1",
                    "--case",
                    "LZ-K-1",
                    "--case-type",
                    "THEFT",
                    "--procedure",
                    "ORDINARY",
                    "--person",
                    "P-K-1",
                    "--key",
                    &key,
                    "--org",
                    "LZ-PSB",
                    "--key-id",
                    "k-openssl",
                    "--json",
                ],
            )
            .await;
        let v: serde_json::Value = serde_json::from_str(&out).expect("receipt JSON");
        let bytes = hex::decode(v["entry_hex"].as_str().expect("entry hex")).expect("hex");
        let entry = proto_types::Entry::from_bytes(&bytes).expect("entry");
        let signer = serde_json::to_value(&entry.body.record.submission().payload.signer)
            .expect("signer json");
        assert!(
            signer.to_string().contains("k-openssl"),
            "signed by {signer}"
        );
        cluster.shutdown().await;
    }
}

mod membership {
    use super::*;
    use caseledger_tests::cluster::start_node;
    use std::time::Duration;

    /// A node joins through the CLI: two approvers sign, the detention house proposes, the
    /// leader carries it out; `membership show` (signed with a node key) shows it, and a
    /// change with too few approvals is refused with the rule.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn approvers_sign_a_join_the_department_proposes_it_and_the_leader_carries_it_out() {
        let cluster = Cluster::start_with(4, 3, |_| {}).await;
        let cli = Cli::new(&cluster);
        let node4 = start_node(&cluster.configs[3]).await;
        let (raft, api) = (node4.raft_addr.clone(), node4.api_addr.clone());
        let change = [
            "--op",
            "add-learner",
            "--node-id",
            "4",
            "--raft-addr",
            &raft,
            "--api-addr",
            &api,
        ];
        let dir = cli.dir.path();
        for approver in ["GS-PLC", "LZ-PROC"] {
            let out = dir.join(format!("approval-{approver}.json"));
            let out = out.to_string_lossy();
            let mut args = vec!["membership", "approve"];
            args.extend(change);
            args.extend(["--out", &out]);
            cli.sign(approver, &args).await;
        }
        let (a1, a2) = (
            dir.join("approval-GS-PLC.json")
                .to_string_lossy()
                .into_owned(),
            dir.join("approval-LZ-PROC.json")
                .to_string_lossy()
                .into_owned(),
        );
        // One approval where the policy requires two: refused, recorded, exit 1.
        let key = cli.keys.join("LZ-DH.pem").to_string_lossy().into_owned();
        let mut short = vec!["membership", "propose"];
        short.extend(change);
        short.extend([
            "--id",
            "M-CLI-4-SHORT",
            "--approval",
            &a1,
            "--key",
            &key,
            "--org",
            "LZ-DH",
        ]);
        short.push("--json");
        let refused: serde_json::Value =
            serde_json::from_str(&cli.expect(1, &short).await).expect("--json prints JSON");
        assert_eq!(refused["code"], "MEMBERSHIP_CHANGE_REFUSED", "{refused}");
        let message = refused["message"].as_str().expect("a message");
        assert!(
            message.contains("1 valid approvals from distinct approvers, 2 required"),
            "{message}"
        );
        let mut full = vec!["membership", "propose"];
        full.extend(change);
        full.extend(["--id", "M-CLI-4", "--approval", &a1, "--approval", &a2]);
        let committed = cli.sign("LZ-DH", &full).await;
        assert!(committed.contains("committed"), "{committed}");
        caseledger_tests::eventually(
            "node 4 to join as a learner",
            Duration::from_secs(30),
            || async {
                let leader = cluster.leader().await;
                let status = cluster.nodes[leader].as_ref()?.ctx.status();
                status.raft.learners.contains(&4).then_some(())
            },
        )
        .await;
        // The operator's view, signed with node 1's key.
        let operator = dir.join("operator.toml");
        let nodes: Vec<String> = cluster
            .api_addrs()
            .iter()
            .map(|a| format!("{a:?}"))
            .collect();
        std::fs::write(
            &operator,
            format!(
                "nodes = [{}]\nkey = {:?}\nnode_id = 1\n",
                nodes.join(", "),
                cluster.dir.path().join("node-1.pem")
            ),
        )
        .expect("write operator config");
        let out = tokio::process::Command::new(&cli.bin)
            .arg("--config")
            .arg(&operator)
            .args(["membership", "show"])
            .output()
            .await
            .expect("run caseledger");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(shown["approved"]["4"]["voter"], false, "{shown}");
        assert_eq!(shown["approved"]["1"]["voter"], true, "{shown}");
        node4.shutdown().await;
        cluster.shutdown().await;
    }
}

mod batch {
    use super::*;

    /// Signs a filing of case `n` into the batch file (`--append-to`), submitting nothing.
    async fn file_into(cli: &Cli, batch: &Path, n: u32) {
        let (id, case, person) = (format!("B-F-{n}"), format!("LZ-B-{n}"), format!("P-B-{n}"));
        let b = batch.to_string_lossy();
        let args = [
            "file",
            "--id",
            &id,
            "--case",
            &case,
            "--case-type",
            "THEFT",
            "--procedure",
            "ORDINARY",
            "--person",
            &person,
            "--at",
            "1767574800000",
            "--append-to",
            &b,
        ];
        let out = cli.sign("LZ-PSB", &args).await;
        assert!(out.contains("appended"), "{out}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn signed_steps_appended_to_a_file_are_submitted_as_one_batch_and_every_receipt_verifies()
    {
        let cluster = Cluster::start(3).await;
        let cli = Cli::new(&cluster);
        let batch = cli.dir.path().join("batch.jsonl");
        for n in 0..3 {
            file_into(&cli, &batch, n).await;
        }
        let (b, g) = (batch.to_string_lossy(), cli.genesis.to_string_lossy());
        let head = cluster.ctx(0).ledger.head().size;
        assert_eq!(
            head,
            cluster.converged(head).await.size,
            "nothing submitted by --append-to"
        );
        let out = cli
            .expect(0, &["submit", "--batch", &b, "--genesis", &g])
            .await;
        assert_eq!(out.matches("APPENDED").count(), 3, "{out}");
        assert_eq!(out.matches("verified").count(), 3, "{out}");
        // Again: the same entries, as duplicates.
        let again = cli
            .expect(0, &["submit", "--batch", &b, "--genesis", &g])
            .await;
        assert_eq!(again.matches("DUPLICATE").count(), 3, "{again}");
        // A refused submission in the file: exit 1, its line names the code.
        let mut text = std::fs::read_to_string(&batch).expect("read");
        text = text.replacen("\"LZ-PSB\"", "\"LZ-PROC\"", 1);
        std::fs::write(&batch, text).expect("write");
        let out = cli.run(&["submit", "--batch", &b]).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains("REFUSED") && stdout.contains("AUTHENTICATION_FAILED"),
            "{stdout}"
        );
        cluster.shutdown().await;
    }
}
