//! The CLI's commands beyond the basics: one module per group, each a clap `Args` struct and
//! an async function returning the exit code. The work is done by the library.
//!
//! Exit codes: [`OK`] 0, [`FAILED`] 1 (the server refused or rejected, something was not
//! found, or a verification failed), [`COULD_NOT_RUN`] 2 (bad usage, unreadable files, no
//! node answered).

pub mod batch;
pub mod membership;
pub mod read;
pub mod sign;
pub mod verify;

use anyhow::{Context, Result};
use caseledger_client::config::{self, FileConfig};
use caseledger_client::http::{Answer, Attempt, Client, Credentials};
use caseledger_client::keys;
use proto_types::ids::KeyId;
use std::path::PathBuf;

/// Success.
pub const OK: u8 = 0;
/// The server refused or rejected, or a verification failed.
pub const FAILED: u8 = 1;
/// Could not run.
pub const COULD_NOT_RUN: u8 = 2;

/// Where the commands find nodes and defaults: flags and environment first, then the file.
pub struct Env {
    nodes: Vec<String>,
    config: Option<PathBuf>,
    ca_cert: Option<PathBuf>,
    verbose: bool,
}

impl Env {
    /// From the global flags.
    pub fn new(nodes: Vec<String>, config: Option<PathBuf>, ca_cert: Option<PathBuf>) -> Self {
        Self {
            nodes,
            config,
            ca_cert,
            verbose: false,
        }
    }

    /// With `-v`: every attempt of a submission is printed on stderr.
    pub fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// The config file's contents (empty when there is none).
    pub fn file(&self) -> Result<FileConfig> {
        Ok(config::load(self.config.as_deref())?)
    }

    /// A client of the configured nodes, signing its requests with the config file's `key`,
    /// `org` and `key_id` (default `k1`) when the file names them: reads need a signed
    /// request, and what they may read follows the organisation's role (audit and export
    /// need the PLC's or an auditor's key). Submissions carry their own signature.
    pub fn client(&self) -> Result<Client> {
        let file = self.file()?;
        let mut client = Client::new(config::nodes(&self.nodes, &file)?);
        if self.verbose {
            client = client.with_observer(std::sync::Arc::new(|a: &Attempt| {
                eprintln!(
                    "caseledger: attempt {} at {}: {}{}",
                    a.number,
                    a.node,
                    a.outcome,
                    if a.retry { "; trying another node" } else { "" }
                );
            }));
        }
        let client = match self.ca_cert.as_ref().or(file.ca_cert.as_ref()) {
            Some(ca) => client.with_ca_cert(ca)?,
            None => client,
        };
        if let (Some(key), Some(node)) = (&file.key, file.node_id) {
            return Ok(client.with_credentials(Credentials::node(node, keys::load_pem(key)?)));
        }
        let (Some(key), Some(org)) = (&file.key, &file.org) else {
            return Ok(client);
        };
        let key_id = file
            .key_id
            .clone()
            .unwrap_or_else(|| KeyId::new("k1").expect("constant key id is valid"));
        let key = keys::load_pem(key)?;
        Ok(client.with_credentials(Credentials::organisation(org, &key_id, key)))
    }
}

/// Prints a JSON value, pretty.
pub fn print_json(v: &serde_json::Value) -> Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).context("printing JSON")?
    );
    Ok(())
}

/// Reports a non-2xx answer (its code and message) and returns [`FAILED`].
pub fn refused(answer: &Answer, json: bool) -> Result<u8> {
    if json {
        print_json(&answer.body)?;
    } else {
        let error = answer.error();
        let code = error.as_ref().map_or("ERROR".into(), |e| e.code.as_str());
        let message = error.as_ref().map_or("", |e| e.message.as_str());
        eprintln!(
            "caseledger: {} answered {}: {code}: {message}",
            answer.node, answer.status
        );
        if let Some(index) = error.and_then(|e| e.index) {
            eprintln!("caseledger: the rejection is recorded as entry {index}");
        }
    }
    Ok(FAILED)
}

/// A Unix-ms time as text (UTC).
pub fn time_text(v: &serde_json::Value) -> String {
    match v.as_u64() {
        Some(ms) => proto_types::Timestamp::from_millis(ms).to_string(),
        None => crate::table::cell(v),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        crate::Cli::command().debug_assert();
    }

    #[test]
    fn nodes_and_config_are_global_flags() {
        use clap::Parser;
        let cli = crate::Cli::try_parse_from([
            "caseledger",
            "case",
            "C-1",
            "--node",
            "a:1,b:2",
            "--config",
            "c.toml",
        ])
        .expect("parses");
        assert_eq!(cli.node_addrs, ["a:1", "b:2"]);
        assert_eq!(cli.config.as_deref(), Some(std::path::Path::new("c.toml")));
    }
}
