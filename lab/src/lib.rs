//! The caseledger lab: orchestration over real processes. The demo ([`demo`]) and the
//! benchmarks ([`bench`]) start `caseledger-node` processes (and etcd, `kill` and `git`), drive
//! them with the workload generators, the pilot province ([`pilot`]: organisations, keys
//! derived from a seed, node identities, the genesis) and its case flows ([`flows`]), and form
//! clusters by approved membership changes ([`formation`]). The signing, submitting, querying
//! and auditing they do is the client library's (`caseledger_client`), which starts no process.

pub mod bench;
pub mod demo;
pub mod flows;
pub mod formation;
pub mod netns;
pub mod pilot;
