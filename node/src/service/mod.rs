//! The node's services, shared by the API and the peer port through the node's context
//! (`crate::node::NodeCtx`): admission ([`admission`]: permits, nonces, rates), submitting ([`submit`]: propose or forward), receipts and the
//! signed tree head ([`receipts`]), the cosign rounds' record ([`cosigning`]), ingress signature
//! checks verified together ([`verifier`]).
//!
//! Invariant: no HTTP type here (no web framework, no HTTP client, no status codes): a service answers plain
//! data and its own errors; `crate::api` and `crate::peer` translate them to and from HTTP, and
//! a transport a service needs (forwarding to the leader) is a trait the HTTP side implements.
//! Nothing here imports `crate::node`, the API or the assembly.

pub mod admission;
pub mod cosigning;
pub mod receipts;
pub mod submit;
pub mod verifier;
