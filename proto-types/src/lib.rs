//! caseledger's pure core: the canonical format, signatures, the hash chain, Merkle proofs,
//! checkpoints, the registry, the case workflow, the clock engine, and the one `apply`
//! function that every replica and the auditor run.
//!
//! No IO, no async, no clock, no randomness: time, keys and randomness come in as arguments.
//! Every byte that is hashed or signed is specified in docs/FORMAT.md.

pub mod api_request;
pub mod apply;
pub mod checkpoint;
pub mod clock;
pub mod crypto;
pub mod domain;
pub mod encoding;
pub mod entry;
pub mod framing;
pub mod ids;
pub mod merkle;
pub mod payload;
pub mod policy;
pub mod precheck;
pub mod receipt;
pub mod records;
pub mod registry;
pub mod replay;
mod serde_bytes_fixed;
pub mod state;
pub mod supervision;
pub mod time;
pub mod wire;
pub mod workflow;

pub use apply::{apply, Applied, Outcome, Proposal, Refusal, SignatureCheck};
pub use entry::{verify_chain, ChainHead, Entry, EntryBody, EntryHash, Record, Rule};
pub use payload::{Action, Payload, Submission};
pub use registry::Registry;
pub use state::{LedgerState, MemState};
pub use time::Timestamp;
