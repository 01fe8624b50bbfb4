//! `caseledger membership`: the departments change who runs the cluster (docs/FORMAT.md
//! §Membership). Each approver signs the change with `approve` (offline: a file to hand on);
//! the node's department (or an approver) `propose`s it with the approvals, as an entry any
//! node takes; the leader then carries it out, which `show` follows.

use anyhow::{Context, Result};
use caseledger_client::membership;
use clap::{Args, Subcommand, ValueEnum};
use proto_types::ids::HandoffId;
use proto_types::payload::{Approval, MemberOp, MembershipChange, NodeAddr};
use proto_types::Action;
use std::path::PathBuf;

use super::sign::{send, SigningArgs};
use super::{print_json, Env, OK};

/// The membership subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum MembershipCmd {
    /// Sign an approval of a change with an approver's key; write it as JSON.
    Approve {
        /// The change.
        #[command(flatten)]
        change: ChangeArgs,
        /// Where to write the approval.
        #[arg(long)]
        out: PathBuf,
        /// Who signs (an approver organisation's key).
        #[command(flatten)]
        signing: SigningArgs,
    },
    /// Submit a change with its approvals, signed by the node's department or an approver.
    Propose {
        /// The change.
        #[command(flatten)]
        change: ChangeArgs,
        /// The entry's id (unique in the ledger).
        #[arg(long)]
        id: HandoffId,
        /// Approval files written by `approve` (k of them, as the policy requires).
        #[arg(long = "approval", required = true)]
        approvals: Vec<PathBuf>,
        /// Write the signed entry (JSON, what `POST /v1/entries` takes) here instead of
        /// submitting it (to submit later, or from a machine without the key).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Who signs the entry.
        #[command(flatten)]
        signing: SigningArgs,
    },
    /// The membership the ledger approved beside the Raft membership in effect, and what the
    /// leader has yet to carry out (`GET /admin/membership`; sign with a node key).
    Show,
}

/// What to change.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// A registered node joins as a learner at `--raft-addr`/`--api-addr`.
    AddLearner,
    /// A learner becomes a voter.
    Promote,
    /// A voter becomes a learner.
    Demote,
    /// A node leaves (its key is retired).
    Remove,
    /// A member moves to `--raft-addr`/`--api-addr`.
    SetAddress,
}

/// A membership change from flags.
#[derive(Args, Debug, Clone)]
pub struct ChangeArgs {
    /// The change.
    #[arg(long, value_enum)]
    pub op: OpKind,
    /// The node's id.
    #[arg(long)]
    pub node_id: u64,
    /// Its peer (Raft) address, `host:port` (add-learner, set-address).
    #[arg(long, required_if_eq_any = [("op", "add-learner"), ("op", "set-address")])]
    pub raft_addr: Option<String>,
    /// Its API address, `host:port` (add-learner, set-address).
    #[arg(long, required_if_eq_any = [("op", "add-learner"), ("op", "set-address")])]
    pub api_addr: Option<String>,
}

impl ChangeArgs {
    /// The change these flags describe.
    pub fn op(&self) -> Result<MemberOp> {
        let node_id = self.node_id;
        let addr = || -> Result<NodeAddr> {
            Ok(NodeAddr {
                raft_addr: self.raft_addr.clone().context("--raft-addr is required")?,
                api_addr: self.api_addr.clone().context("--api-addr is required")?,
            })
        };
        Ok(match self.op {
            OpKind::AddLearner => MemberOp::AddLearner {
                node_id,
                addr: addr()?,
            },
            OpKind::Promote => MemberOp::Promote { node_id },
            OpKind::Demote => MemberOp::Demote { node_id },
            OpKind::Remove => MemberOp::Remove { node_id },
            OpKind::SetAddress => MemberOp::SetAddress {
                node_id,
                addr: addr()?,
            },
        })
    }
}

/// Runs a `membership` subcommand.
pub async fn run(env: &Env, cmd: MembershipCmd) -> Result<u8> {
    match cmd {
        MembershipCmd::Approve {
            change,
            out,
            signing,
        } => {
            let who = signing.identity(env)?;
            let approval = membership::approve(who.key_ref().clone(), who.key(), &change.op()?);
            std::fs::write(&out, serde_json::to_string_pretty(&approval)?)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("approval by {} written to {}", who.org(), out.display());
            Ok(OK)
        }
        MembershipCmd::Propose {
            change,
            id,
            approvals,
            out,
            signing,
        } => {
            let who = signing.identity(env)?;
            let approvals = approvals
                .iter()
                .map(|p| {
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("reading {}", p.display()))?;
                    serde_json::from_str::<Approval>(&text)
                        .with_context(|| format!("parsing the approval {}", p.display()))
                })
                .collect::<Result<Vec<_>>>()?;
            let action = Action::Membership(MembershipChange {
                op: change.op()?,
                approvals,
            });
            let sub = who.sign(id, signing.at(), action);
            match out {
                Some(path) => {
                    std::fs::write(&path, serde_json::to_string_pretty(&sub)?)
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!(
                        "signed entry {} written to {}",
                        sub.payload.id,
                        path.display()
                    );
                    Ok(OK)
                }
                None => send(env, &signing, &sub).await,
            }
        }
        MembershipCmd::Show => {
            let v = env.client()?.get_json("/admin/membership").await?;
            print_json(&v)?;
            Ok(OK)
        }
    }
}
