//! `submit --batch FILE`: the signed submissions of a file sent as one batch
//! (`POST /v1/entries/batch`, docs/FORMAT.md §Batch), one line printed per submission; and the
//! file's format, which every signing command's `--append-to` appends to.

use anyhow::{Context, Result};
use caseledger_client::http::ClientError;
use caseledger_client::trust::{node_keys_from_genesis, verify_receipt_set};
use proto_types::wire::BatchOutcome;
use proto_types::Submission;
use std::io::Write as _;
use std::path::Path;

use super::{print_json, Env, FAILED, OK};
use crate::table;

/// Appends `sub` to `path` as one JSON line (created if absent).
pub fn append(path: &Path, sub: &Submission) -> Result<()> {
    let mut line = serde_json::to_string(sub).context("writing a submission as JSON")?;
    line.push('\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .with_context(|| format!("appending to {}", path.display()))
}

/// The submissions of a batch file: a JSON array, or JSON values one after another (JSON
/// lines, or pretty-printed submissions concatenated).
pub fn read(text: &str) -> Result<Vec<Submission>> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).context("a JSON array of signed submissions");
    }
    serde_json::Deserializer::from_str(text)
        .into_iter::<Submission>()
        .enumerate()
        .map(|(i, s)| s.with_context(|| format!("signed submission {i} (from 0)")))
        .collect()
}

/// Runs `submit --batch FILE [--genesis FILE]`: 0 if every submission is recorded as an
/// accepted entry (now or before) and, with `--genesis`, every receipt verifies; 1 if one was
/// rejected or refused, a receipt does not verify, or the batch was refused whole.
pub async fn submit(env: &Env, file: &Path, genesis: Option<&Path>, json: bool) -> Result<u8> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let subs = read(&text).with_context(|| format!("reading {}", file.display()))?;
    let keys = match genesis {
        Some(g) => Some(
            node_keys_from_genesis(
                &std::fs::read_to_string(g).with_context(|| format!("reading {}", g.display()))?,
            )
            .with_context(|| format!("reading {}", g.display()))?,
        ),
        None => None,
    };
    let set = match env.client()?.submit_batch(&subs).await {
        Ok(set) => set,
        Err(ClientError::Refused {
            node,
            status,
            error,
        }) => {
            eprintln!(
                "caseledger: {node} answered {status}: {}: {}",
                error.code, error.message
            );
            return Ok(FAILED);
        }
        Err(e) => return Err(e.into()),
    };
    let verified = keys.as_ref().map(|k| verify_receipt_set(&set, k));
    let mut ok = set.results.iter().all(|r| {
        r.outcome == BatchOutcome::Appended
            || (r.outcome == BatchOutcome::Duplicate && r.code.is_none())
    });
    if let Some(v) = &verified {
        ok &= v.iter().all(Result::is_ok);
    }
    if json {
        print_json(&serde_json::to_value(&set).context("printing the receipt set")?)?;
        return Ok(if ok { OK } else { FAILED });
    }
    let mut t = table::Table::new(["#", "id", "outcome", "index", "code", "receipt"]);
    for (i, r) in set.results.iter().enumerate() {
        let id = subs
            .get(r.position as usize)
            .map_or_else(String::new, |s| s.payload.id.to_string());
        let code = match (&r.code, &r.message) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.to_string(),
            _ => String::new(),
        };
        let receipt = match verified.as_ref().and_then(|v| v.get(i)) {
            Some(Ok(Some(_))) => "verified".to_owned(),
            Some(Ok(None)) => "-".to_owned(),
            Some(Err(e)) => format!("DOES NOT VERIFY: {e}"),
            None if r.index.is_some() => "not checked (--genesis)".to_owned(),
            None => "-".to_owned(),
        };
        t.push([
            r.position.to_string(),
            id,
            format!("{:?}", r.outcome).to_uppercase(),
            r.index.map_or_else(String::new, |i| i.to_string()),
            code,
            receipt,
        ]);
    }
    print!("{}", t.render());
    println!("tree head: size {}, root {}", set.tree_size, set.root);
    Ok(if ok { OK } else { FAILED })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(n: u8) -> Submission {
        let key = caseledger_client::keys::derive(u64::from(n), "batch-file");
        let who = caseledger_client::steps::Identity::new(
            key,
            proto_types::ids::OrgId::new("GS-LZ-PSB").expect("org"),
            proto_types::ids::KeyId::new("k1").expect("key id"),
        );
        who.sign(
            proto_types::ids::HandoffId::new(format!("R-{n}")).expect("id"),
            proto_types::Timestamp::from_millis(1_000),
            proto_types::Action::Receipt(proto_types::payload::Receipt {
                handoff: proto_types::ids::HandoffId::new("H-1").expect("id"),
            }),
        )
    }

    #[test]
    fn a_batch_file_reads_as_json_lines_concatenated_values_or_an_array() {
        let (a, b) = (sub(1), sub(2));
        let lines = format!(
            "{}\n{}\n",
            serde_json::to_string(&a).expect("json"),
            serde_json::to_string(&b).expect("json")
        );
        let pretty = format!(
            "{}{}",
            serde_json::to_string_pretty(&a).expect("json"),
            serde_json::to_string_pretty(&b).expect("json")
        );
        let array = serde_json::to_string(&vec![a.clone(), b.clone()]).expect("json");
        for text in [lines, pretty, array] {
            assert_eq!(
                read(&text).expect("reads"),
                vec![a.clone(), b.clone()],
                "{text}"
            );
        }
        assert!(read("{\"not\": 1}").is_err());
    }
}
