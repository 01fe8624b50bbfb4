//! `caseledger-node`: not wired up yet (cluster life: `init`, `run --config`).

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("caseledger-node: `init` and `run` are not implemented yet");
    ExitCode::from(2)
}
